//! Servers as child processes: the real `apayun-mock` binary and the
//! `baseline` binary, both on `--port 0` (the first stdout line names the
//! port), their RSS from `/proc/PID/status`, and start-up timing.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

pub struct Server {
    child: Child,
    _stdout: tokio::io::Lines<BufReader<ChildStdout>>,
    pub base_url: String,
    pub pid: u32,
}

/// Memory of a process, in KiB: (VmRSS, VmHWM).
pub fn rss_kib(pid: u32) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// CPU time a process has used (user + system), from `/proc/PID/stat`.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start after ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_secs_f64((utime + stime) as f64 / 100.0))
}

impl Server {
    /// Spawns `bin args…` and waits (≤ `timeout`) for `listening on http://…`.
    pub async fn spawn(
        bin: &Path,
        args: &[String],
        env: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<Server, String> {
        let mut cmd = Command::new(bin);
        cmd.args(args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let pid = child.id().unwrap_or(0);
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(timeout, lines.next_line())
            .await
            .map_err(|_| format!("{} did not start within {timeout:?}", bin.display()))?
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("{} exited before listening", bin.display()))?;
        let base_url = line
            .strip_prefix("listening on ")
            .ok_or_else(|| format!("unexpected first line {line:?}"))?
            .trim()
            .to_string();
        Ok(Server {
            child,
            _stdout: lines,
            base_url,
            pid,
        })
    }

    pub fn rss_kib(&self) -> Option<(u64, u64)> {
        rss_kib(self.pid)
    }

    /// Whether the server has already exited (its `/proc` entry is a zombie or gone).
    pub fn exited(&self) -> bool {
        match std::fs::read_to_string(format!("/proc/{}/stat", self.pid)) {
            Ok(text) => text
                .rfind(')')
                .and_then(|i| text[i + 1..].split_whitespace().next())
                .is_some_and(|state| state == "Z" || state == "X"),
            Err(_) => true,
        }
    }

    pub async fn stop(mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            eprintln!("    the server had already exited: {status}");
        }
        let _ = self.child.kill().await;
    }
}

/// The directory of this executable (`target/release`).
pub fn target_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("target/release"))
}

/// Time from spawn to the first successful answer of `probe`, for each of
/// `n` starts (each bounded by 10 s).
pub async fn startup_times<F, Fut>(
    bin: &Path,
    args: &[String],
    n: usize,
    probe: F,
) -> Result<Vec<Duration>, String>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = Instant::now();
        let server = Server::spawn(bin, args, &[], Duration::from_secs(10)).await?;
        let mut answered = false;
        for _ in 0..2000 {
            if probe(server.base_url.clone()).await {
                answered = true;
                break;
            }
            if t0.elapsed() > Duration::from_secs(10) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let took = t0.elapsed();
        server.stop().await;
        if !answered {
            return Err(format!("{} never answered", bin.display()));
        }
        out.push(took);
    }
    Ok(out)
}
