//! The `apayun-mock` binary as a child process, shared by the test files
//! that run it: a command with no `APAYUN_MOCK_*` setting leaking in, and a
//! `serve` process that reports its URL and is killed when dropped; and
//! [`raw::Raw`], one HTTP answer read whole, for the files that look past
//! the client.

#![allow(dead_code)]

pub mod raw;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_apayun-mock");

/// The binary with none of its `APAYUN_MOCK_*` settings (whatever their
/// names) nor an HTTP proxy leaking in from the environment, and quiet logs.
pub fn command() -> Command {
    let mut cmd = Command::new(BIN);
    clear_settings(&mut cmd);
    cmd.env("RUST_LOG", "warn");
    cmd
}

/// Removes every `APAYUN_MOCK_*` variable and the proxies an `http://`
/// request would take (`http_proxy`, `all_proxy`, any case) from `cmd`'s
/// environment.
pub fn clear_settings(cmd: &mut Command) {
    for (name, _) in std::env::vars_os() {
        let name_text = name.to_string_lossy();
        if name_text.starts_with("APAYUN_MOCK_")
            || ["http_proxy", "all_proxy"]
                .iter()
                .any(|proxy| name_text.eq_ignore_ascii_case(proxy))
        {
            cmd.env_remove(name);
        }
    }
}

/// A `serve` child process; killed and reaped on drop.
pub struct Server {
    child: Option<Child>,
    pub first_line: String,
    pub url: String,
}

impl Server {
    /// Starts `serve ARGS…` and waits (≤ 60 s) for its first line.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut cmd = command();
        cmd.arg("serve")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {BIN}: {e}"));
        let stdout = child.stdout.take();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let Some(out) = stdout else { return };
            let mut lines = BufReader::new(out).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            // Keep draining so the server never blocks on a full pipe.
            for _ in lines {}
        });
        let mut server = Server {
            child: Some(child),
            first_line: String::new(),
            url: String::new(),
        };
        server.first_line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("serve {args:?} {env:?} printed no first line: {e}"));
        server.url = server
            .first_line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {:?}", server.first_line))
            .to_string();
        server
    }

    pub fn port(&self) -> u16 {
        self.url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {}", self.url))
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or_default()
    }

    /// Waits for the process to end on its own.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let child = self
            .child
            .as_mut()
            .unwrap_or_else(|| panic!("no child process"));
        let started = Instant::now();
        loop {
            match child.try_wait() {
                Ok(Some(status)) => {
                    self.child = None;
                    return status;
                }
                Ok(None) if started.elapsed() < limit => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                Ok(None) => panic!("server did not exit within {limit:?}"),
                Err(e) => panic!("wait: {e}"),
            }
        }
    }

    /// Sends SIGTERM and returns how long the process took to exit and
    /// whether it exited 0, or `None` if it was still running after `limit`.
    pub fn terminate(&mut self, limit: Duration) -> Option<(Duration, bool)> {
        let kill = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .unwrap_or_else(|e| panic!("kill: {e}"));
        assert!(kill.success(), "kill -TERM failed");
        let started = Instant::now();
        let child = self.child.as_mut()?;
        while started.elapsed() < limit {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some((started.elapsed(), status.success()));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
