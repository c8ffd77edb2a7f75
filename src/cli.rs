//! The `call` and `sign` subcommands: a quick way to talk to an engine by
//! hand, and to see what a sign is made of.

use std::process::ExitCode;

use serde_json::Value;

use crate::api::sign;
use crate::client::{self, Client};
use crate::config::{CallArgs, SignArgs};

/// `apayun-mock call ACTION key=value…`: signs, sends, pretty-prints.
/// Exits 0 when the answer is HTTP 200 with `code` 0; 1 when the engine
/// refused, answered another HTTP status, or closed the connection without
/// an answer; 2 when it cannot be reached or the arguments are wrong.
pub async fn call(args: CallArgs) -> ExitCode {
    let mut params = match client::params_from_words(&args.params) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("apayun-mock call: {e}");
            return ExitCode::from(2);
        }
    };
    if args.xml {
        if let Value::Object(m) = &mut params {
            m.insert("dataType".into(), Value::String("xml".into()));
        }
    }
    let client = Client::new(&args.client.url, &args.client.userid, &args.client.key);
    let answer = match client.call(&args.action, params).await {
        Ok(a) => a,
        // Nobody listens there (or no such host): the engine was not reached.
        Err(e) if e.is_connect() || e.is_builder() => {
            eprintln!(
                "apayun-mock call: cannot reach {}: {}",
                args.client.url,
                chain(&e)
            );
            return ExitCode::from(2);
        }
        // The engine took the request and closed the connection without a
        // (complete) answer, as a `drop` fault does.
        Err(e) => {
            eprintln!(
                "apayun-mock call: {} closed the connection without an answer: {}",
                args.client.url,
                chain(&e)
            );
            return ExitCode::from(1);
        }
    };
    // Anything but 200 is not the engine's envelope (an `http` fault, a 404,
    // a 413): say so, whatever the body holds.
    if answer.status != 200 {
        let phrase = axum::http::StatusCode::from_u16(answer.status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("");
        eprintln!("HTTP {} {phrase}", answer.status);
    }
    if let Some(reason) = &answer.reason {
        eprintln!("X-Mock-Error: {reason}");
    }
    let json = answer.json();
    if answer.text.is_empty() {
        eprintln!("(empty body)");
    } else if args.xml || json.is_null() {
        println!("{}", answer.text);
    } else {
        println!(
            "{}",
            serde_json::to_string_pretty(&json).unwrap_or_else(|_| answer.text.clone())
        );
    }
    if answer.status == 200 && (args.xml || answer.code() == 0) && answer.reason.is_none() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// An error and its causes, `: `-joined: reqwest's own text ("error
/// sending request") leaves out what actually happened.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `apayun-mock sign ACTION`: prints the sign, the time and the canonical string.
pub fn sign(args: SignArgs) -> ExitCode {
    let time = args
        .time
        .unwrap_or_else(crate::clock::wall_seconds)
        .to_string();
    let module = if args.action == "refund" && args.module == "baremetal" {
        "common".to_string()
    } else {
        args.module
    };
    println!(
        "sign:      {}",
        sign::sign(&module, &args.action, &args.userid, &args.key, &time)
    );
    println!("time:      {time}");
    println!("module:    {module}");
    println!(
        "canonical: {}",
        sign::canonical(&module, &args.action, &args.userid, &args.key, &time)
    );
    println!(
        "masked:    {}",
        sign::masked_canonical(&module, &args.action, &args.userid, &time)
    );
    ExitCode::SUCCESS
}
