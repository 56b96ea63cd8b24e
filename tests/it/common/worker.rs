//! A real Temporal worker for a test: fixtures/worker/worker.py on the
//! Python SDK (temporalio, in the test environment), polling task queues
//! with the plans' workflow type and doing what its control file says. It
//! stops when the test drops it (its standard input closes, and it is killed).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub struct Worker {
    child: Child,
    control: PathBuf,
    dir: tempfile::TempDir,
}

impl Worker {
    /// Start polling `queues` of `namespace` at `address`; returns once the
    /// worker says it polls, with runs completing (`ok`).
    pub fn start(address: &str, namespace: &str, queues: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let control = dir.path().join("mode");
        std::fs::write(&control, "ok").expect("write");
        let log = std::fs::File::create(dir.path().join("worker.log")).expect("log file");
        let mut child = Command::new(super::python())
            .arg(super::root().join("fixtures/worker/worker.py"))
            .args([address, namespace])
            .arg(&control)
            .args(queues)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("python runs");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let worker = Self {
            child,
            control,
            dir,
        };
        assert_eq!(
            line.trim(),
            "ready",
            "the worker did not start: {}",
            worker.log()
        );
        worker
    }

    /// What the next runs do: `ok`, `fail`, `flaky` or `sleep` (see worker.py).
    pub fn set(&self, mode: &str) {
        std::fs::write(&self.control, mode).expect("write");
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("worker.log")).unwrap_or_default()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
