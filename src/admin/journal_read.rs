//! `GET /_mock/requests` as a stream: entries are read from the journal a
//! few at a time and written into the body as hyper takes it, so the
//! memory a read takes does not grow with the journal (a whole 100,000
//! entry ring once went out as one 600 MB value tree and string).
//!
//! JSON: `{"requests":[…],"dropped":N,"overflowed":N,"next_before":ID}`,
//! the counters and the cursor written after the last entry;
//! `next_before` is `null` on the last page. JSON lines: one entry a line,
//! nothing else (a page shorter than its `limit` is the last).

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::engine::Engine;
use crate::journal::{Entry, Filter};

/// Entries read per hold of the ring's lock.
const CHUNK_ENTRIES: usize = 32;
/// A chunk of the body is sent once it holds this much.
const CHUNK_BYTES: usize = 64 * 1024;

/// How the entries are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageFormat {
    Json,
    JsonLines,
}

/// The streamed answer: at most `limit` entries matching `filter`, newest
/// first, before `filter.before`.
pub fn answer(engine: Arc<Engine>, filter: Filter, limit: usize, shape: PageFormat) -> Response {
    let state = Reading {
        engine,
        before: filter.before,
        filter,
        left: limit,
        written: 0,
        last_id: None,
        shape,
        opened: false,
        done: false,
    };
    let stream = futures_util::stream::unfold(state, |mut state| async move {
        let chunk = state.next_chunk()?;
        Some((Ok::<_, std::convert::Infallible>(chunk), state))
    });
    let content_type = match shape {
        PageFormat::Json => "application/json",
        PageFormat::JsonLines => "application/x-ndjson",
    };
    (
        [(header::CONTENT_TYPE, content_type)],
        Body::from_stream(stream),
    )
        .into_response()
}

struct Reading {
    engine: Arc<Engine>,
    filter: Filter,
    /// The cursor: read entries before this id (`None`: from the newest).
    before: Option<u64>,
    /// Entries still wanted.
    left: usize,
    written: usize,
    last_id: Option<u64>,
    shape: PageFormat,
    opened: bool,
    done: bool,
}

impl Reading {
    /// The next piece of the body; `None` once the answer is complete.
    fn next_chunk(&mut self) -> Option<Bytes> {
        if self.done {
            return None;
        }
        let mut out = Vec::new();
        if !self.opened && self.shape == PageFormat::Json {
            out.extend_from_slice(b"{\"requests\":[");
        }
        self.opened = true;
        // Pages until the chunk is worth sending or the read is over; the
        // ring's lock is taken once a page.
        let mut exhausted = false;
        while self.left > 0 && out.len() < CHUNK_BYTES {
            let page =
                self.engine
                    .journal()
                    .page(&self.filter, self.before, self.left.min(CHUNK_ENTRIES));
            for entry in &page.entries {
                self.write_entry(&mut out, entry);
            }
            self.left -= page.entries.len();
            self.before = page.resume_before;
            if page.resume_before.is_none() {
                exhausted = true;
                break;
            }
        }
        if self.left > 0 && !exhausted {
            return Some(Bytes::from(out));
        }
        self.done = true;
        if self.shape == PageFormat::Json {
            let next_before = match (exhausted, self.last_id) {
                (false, Some(last)) if self.more_after_last() => Some(last),
                _ => None,
            };
            let journal = self.engine.journal();
            let tail = json!({
                "dropped": journal.dropped(),
                "overflowed": journal.overflowed(),
                "next_before": next_before,
            });
            out.extend_from_slice(b"],");
            let text = tail.to_string();
            // `{"dropped":…}` without its opening brace continues the object.
            out.extend_from_slice(text.get(1..).unwrap_or("}").as_bytes());
        }
        Some(Bytes::from(out))
    }

    fn write_entry(&mut self, out: &mut Vec<u8>, entry: &Entry) {
        if self.shape == PageFormat::Json && self.written > 0 {
            out.push(b',');
        }
        // Writing into a Vec fails only if the entry cannot be serialised,
        // which its types rule out.
        let _ = serde_json::to_writer(&mut *out, entry);
        if self.shape == PageFormat::JsonLines {
            out.push(b'\n');
        }
        self.written += 1;
        self.last_id = Some(entry.id);
    }

    /// After a full page: is there an older matching entry for a next page?
    fn more_after_last(&self) -> bool {
        let mut before = self.before;
        loop {
            let page = self.engine.journal().page(&self.filter, before, 1);
            if !page.entries.is_empty() {
                return true;
            }
            match page.resume_before {
                Some(next) => before = Some(next),
                None => return false,
            }
        }
    }
}
