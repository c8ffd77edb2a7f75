//! One engine's lane to its database. `/api` calls queue here in arrival
//! order and one blocking task (`spawn_blocking`) runs them back to back,
//! started when the queue turns non-empty and ending when it runs dry.
//!
//! The connection is one mutex anyway, so this changes no ordering a client
//! could observe; it removes a blocking-thread wake-up (and a crowd of
//! threads parked on the mutex) from every call under load: a call costs
//! one hand-over to the lane and one wake-up of its own task.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::oneshot;

use crate::engine::{Call, Engine, Outcome};
use crate::protocol::Refusal;

struct Job {
    call: Call,
    stall: Option<i64>,
    reply: oneshot::Sender<Outcome>,
}

#[derive(Default)]
struct LaneQueue {
    jobs: VecDeque<Job>,
    /// A blocking task is draining `jobs`.
    draining: bool,
}

#[derive(Default)]
pub struct Lane {
    state: Mutex<LaneQueue>,
}

impl std::fmt::Debug for Lane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Lane")
    }
}

impl Lane {
    fn lock(&self) -> MutexGuard<'_, LaneQueue> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn failed(detail: &str) -> Outcome {
    Outcome {
        result: Err(Refusal::internal(detail)),
        changes: Vec::new(),
    }
}

/// Runs the call on the engine's blocking lane: SQLite never blocks the
/// runtime's workers.
pub async fn run(engine: Arc<Engine>, call: Call, stall: Option<i64>) -> Outcome {
    let (reply, answer) = oneshot::channel();
    let start = {
        let mut state = engine.lane().lock();
        state.jobs.push_back(Job { call, stall, reply });
        !std::mem::replace(&mut state.draining, true)
    };
    if start {
        let worker = engine.clone();
        tokio::task::spawn_blocking(move || drain(&worker));
    }
    answer
        .await
        .unwrap_or_else(|_| failed("the call was dropped before it ran"))
}

fn drain(engine: &Engine) {
    loop {
        let job = {
            let mut state = engine.lane().lock();
            match state.jobs.pop_front() {
                Some(job) => job,
                None => {
                    state.draining = false;
                    return;
                }
            }
        };
        // A panicking call fails alone, as it did on its own blocking task.
        let outcome =
            std::panic::catch_unwind(AssertUnwindSafe(|| engine.execute(&job.call, job.stall)))
                .unwrap_or_else(|_| failed("the call panicked"));
        let _ = job.reply.send(outcome);
    }
}
