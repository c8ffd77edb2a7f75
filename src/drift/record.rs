//! Recordings: `drift --save DIR` writes each engine answer, already
//! redacted, as one JSON file; `drift --recorded DIR` reads them back, so
//! a team checks a recording in and CI compares the mock with it, with no
//! credentials and no network.
//!
//! A file is `NNN-<probe>[-page-N|-<guid>].json`:
//! `{"probe": "getzones", "action": "getzones", "params": {}, "http_status": 200,
//! "answer": {…}}`, or `"answer_text"` for an answer that is not JSON.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{redact, Body, Exchange, Probe};

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Recording {
    probe: String,
    action: String,
    #[serde(default)]
    params: Map<String, Value>,
    #[serde(default = "ok_status")]
    http_status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    answer: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    answer_text: Option<String>,
}

fn ok_status() -> u16 {
    200
}

/// Whether a file name is one `save` writes: `NNN-….json`.
fn is_recording_name(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(".json") else {
        return false;
    };
    let digits = stem.bytes().take_while(u8::is_ascii_digit).count();
    digits >= 3 && stem.as_bytes().get(digits) == Some(&b'-')
}

fn file_name(index: usize, ex: &Exchange) -> String {
    let tail = match ex.probe {
        Probe::Systems | Probe::InstancePages => ex
            .params
            .get("page_mode")
            .or_else(|| ex.params.get("page"))
            .and_then(|p| p.as_str())
            .map(|p| format!("-page-{p}"))
            .unwrap_or_default(),
        Probe::InstanceOne | Probe::DegradeIpList => ex
            .params
            .get("guid")
            .and_then(Value::as_str)
            .map(|g| {
                let safe: String = g
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .take(40)
                    .collect();
                format!("-{safe}")
            })
            .unwrap_or_default(),
        _ => String::new(),
    };
    format!("{:03}-{}{tail}.json", index + 1, ex.probe.id())
}

/// Writes the answers to `dir` (made if needed), replacing the recording
/// files a previous `save` left there; returns how many it wrote.
pub fn save(dir: &Path, exchanges: &[Exchange]) -> Result<usize, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        if is_recording_name(&entry.file_name().to_string_lossy()) {
            let path = entry.path();
            std::fs::remove_file(&path)
                .map_err(|e| format!("cannot replace {}: {e}", path.display()))?;
        }
    }
    for (i, ex) in exchanges.iter().enumerate() {
        let (answer, answer_text) = match &ex.body {
            Body::Json(v) => (Some(v.clone()), None),
            Body::Text(t) => (None, Some(t.clone())),
        };
        let rec = Recording {
            probe: ex.probe.id().to_string(),
            action: ex.probe.action().wire().to_string(),
            params: ex.params.clone(),
            http_status: ex.http_status,
            answer,
            answer_text,
        };
        let path = dir.join(file_name(i, ex));
        let text = serde_json::to_string_pretty(&rec).map_err(|e| e.to_string())? + "\n";
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(exchanges.len())
}

/// Reads every recording file of `dir`, in name order. The answers are
/// redacted again: a recording made by hand gets the same treatment.
pub fn load(dir: &Path) -> Result<Vec<Exchange>, String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read the recording {}: {e}", dir.display()))?;
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| is_recording_name(n))
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(format!(
            "{} holds no recording (files named NNN-<action>….json, as `drift --save` writes)",
            dir.display()
        ));
    }
    let mut out = Vec::new();
    for name in names {
        let path = dir.join(&name);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let rec: Recording = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not a recording: {e}", path.display()))?;
        let probe = Probe::from_id(&rec.probe).ok_or_else(|| {
            let known: Vec<&str> = Probe::ALL.iter().map(|p| p.id()).collect();
            format!(
                "{}: unknown probe {:?} (one of {})",
                path.display(),
                rec.probe,
                known.join(", ")
            )
        })?;
        let body = match (rec.answer, rec.answer_text) {
            (Some(mut v), None) => {
                redact::redact(&mut v);
                Body::Json(v)
            }
            (None, Some(t)) if t.trim_start().starts_with('<') => {
                Body::Text(redact::redact_xml(&t))
            }
            (None, Some(t)) => Body::Text(t),
            _ => {
                return Err(format!(
                    "{}: needs exactly one of `answer` (JSON) and `answer_text`",
                    path.display()
                ))
            }
        };
        out.push(Exchange {
            probe,
            params: rec.params,
            http_status: rec.http_status,
            body,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::is_recording_name;

    #[test]
    fn recording_names() {
        assert!(is_recording_name("001-getzones.json"));
        assert!(is_recording_name("012-sync_baremetal-page-2.json"));
        assert!(!is_recording_name("README.json"));
        assert!(!is_recording_name("01-getzones.json"));
        assert!(!is_recording_name("001-getzones.txt"));
    }
}
