//! The physical limit for one `/api`-like request on this machine: a bare
//! axum handler that decodes a ~10-field form (serde_urlencoded), checks one
//! md5 sign, and reads two rows from an in-memory SQLite on a blocking
//! thread (like the mock). `/write` also INSERTs one row into a WAL-mode
//! file database (synchronous=NORMAL, like the mock's `--db`).
//!
//! `baseline --port 0 --db FILE` prints `listening on http://ADDR` first,
//! like `apayun-mock serve`. Used by `loadbench`; not a product.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use clap::Parser;
use md5::{Digest, Md5};
use rusqlite::Connection;

const SALT: &str = "zkeys.api@2019";
const KEY: &str = "mock-api-key";

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// The file database `/write` inserts into (WAL mode).
    #[arg(long)]
    db: PathBuf,
}

#[derive(Clone)]
struct App {
    mem: Arc<Mutex<Connection>>,
    file: Arc<Mutex<Connection>>,
}

fn open_mem() -> rusqlite::Result<Connection> {
    let c = Connection::open_in_memory()?;
    c.set_prepared_statement_cache_capacity(16);
    c.execute_batch("CREATE TABLE docs (id INTEGER PRIMARY KEY, doc TEXT NOT NULL);")?;
    for id in 0..16 {
        let doc = format!(
            r#"{{"id":"{id}","guid":"16659064819316{id:02}","name":"zone {id}","status":"1","sort_id":"{id}","intro":"a catalog record of about two hundred bytes, like a zone of the seed data","line_type":"local"}}"#
        );
        c.execute("INSERT INTO docs (id, doc) VALUES (?1, ?2)", (id, doc))?;
    }
    Ok(c)
}

fn open_file(path: &PathBuf) -> rusqlite::Result<Connection> {
    let c = Connection::open(path)?;
    c.pragma_update(None, "journal_mode", "WAL")?;
    c.pragma_update(None, "synchronous", "NORMAL")?;
    c.set_prepared_statement_cache_capacity(16);
    c.execute_batch(
        "CREATE TABLE IF NOT EXISTS log (id INTEGER PRIMARY KEY, time TEXT NOT NULL, action TEXT NOT NULL, sign TEXT NOT NULL);",
    )?;
    Ok(c)
}

fn bad(status: StatusCode, msg: &str) -> Response {
    (status, msg.to_string()).into_response()
}

/// Decode, authenticate, read two rows, optionally insert one.
async fn handle(app: App, body: Bytes, write: bool) -> Response {
    let fields: Vec<(String, String)> = match serde_urlencoded::from_bytes(&body) {
        Ok(f) => f,
        Err(_) => return bad(StatusCode::BAD_REQUEST, "bad form"),
    };
    let get = |k: &str| {
        fields
            .iter()
            .find(|(fk, _)| fk == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let (module, action, userid, time, sign) = (
        get("module"),
        get("action"),
        get("userid"),
        get("time"),
        get("sign"),
    );
    let expected = hex::encode(Md5::digest(
        format!("{module}{SALT}{action}{userid}{KEY}{time}").as_bytes(),
    ));
    if !expected.eq_ignore_ascii_case(sign) {
        return bad(StatusCode::FORBIDDEN, "bad sign");
    }
    let seq: i64 = time.parse::<i64>().unwrap_or(0);
    let (time, action, sign) = (time.to_string(), action.to_string(), sign.to_string());
    let result = tokio::task::spawn_blocking(move || -> rusqlite::Result<String> {
        let (a, b) = {
            let conn = app.mem.lock().unwrap_or_else(|p| p.into_inner());
            let mut stmt = conn.prepare_cached("SELECT doc FROM docs WHERE id = ?1")?;
            let a: String = stmt.query_row([seq % 16], |r| r.get(0))?;
            let b: String = stmt.query_row([(seq + 1) % 16], |r| r.get(0))?;
            (a, b)
        };
        if write {
            let conn = app.file.lock().unwrap_or_else(|p| p.into_inner());
            let mut stmt =
                conn.prepare_cached("INSERT INTO log (time, action, sign) VALUES (?1, ?2, ?3)")?;
            stmt.execute((time, action, sign))?;
        }
        Ok(format!(
            r#"{{"code":0,"message":"success","data":[{a},{b}]}}"#
        ))
    })
    .await;
    match result {
        Ok(Ok(text)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            text,
        )
            .into_response(),
        _ => bad(StatusCode::INTERNAL_SERVER_ERROR, "sqlite failed"),
    }
}

async fn read(State(app): State<App>, body: Bytes) -> Response {
    handle(app, body, false).await
}

async fn write(State(app): State<App>, body: Bytes) -> Response {
    handle(app, body, true).await
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let app = match (open_mem(), open_file(&args.db)) {
        (Ok(m), Ok(f)) => App {
            mem: Arc::new(Mutex::new(m)),
            file: Arc::new(Mutex::new(f)),
        },
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("baseline: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let router = Router::new()
        .route("/read", post(read))
        .route("/write", post(write))
        .with_state(app);
    let addr = SocketAddr::from(([127, 0, 0, 1], args.port));
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("baseline: cannot listen on {addr}: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let local = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on http://{local}");
        let _ = out.flush();
    }
    if let Err(e) = axum::serve(listener, router).await {
        eprintln!("baseline: {e}");
        return std::process::ExitCode::from(2);
    }
    std::process::ExitCode::SUCCESS
}
