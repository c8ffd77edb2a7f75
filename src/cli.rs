//! The `call` and `sign` subcommands: a quick way to talk to an engine by
//! hand, and to see what a sign is made of.

use std::process::ExitCode;

use serde_json::Value;

use crate::api::sign;
use crate::client::{self, Client};
use crate::config::{CallArgs, SignArgs};

/// `apayun-mock call ACTION key=value…`: signs, sends, pretty-prints.
/// Exits 0 when the envelope's code is 0, 1 otherwise.
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
        Err(e) => {
            eprintln!("apayun-mock call: cannot reach {}: {e}", args.client.url);
            return ExitCode::from(2);
        }
    };
    if let Some(reason) = &answer.reason {
        eprintln!("X-Mock-Error: {reason}");
    }
    let json = answer.json();
    if args.xml || json.is_null() {
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
