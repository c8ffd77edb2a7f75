//! One scheduler for every engine of the process: it sleeps until the
//! earliest due transition of any engine, runs that engine's due work, and
//! is woken early when something sooner is scheduled or a clock moves.
//!
//! Engines tell it when they next need to run ([`Scheduler::schedule`]),
//! after every change that can move that time: a write, a clock move, a
//! restore, a fault deleted. An idle process therefore costs no CPU however
//! many namespaces it holds; there is no per-engine tick.
//!
//! It knows an engine only as something [`Due`]: the engine depends on the
//! scheduler, never the other way round.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// What the scheduler runs: an engine's transitions that fell due. The
/// engine then tells its [`Timer`] when it is next due.
pub trait Due: Send + Sync {
    fn run_due(&self);
}

/// The engines' wake-up times, soonest first.
#[derive(Default)]
struct Queue {
    /// `(when, engine id)`, ordered by time.
    order: BTreeSet<(Instant, u64)>,
    /// Each engine's current entry in `order`.
    at: HashMap<u64, Instant>,
    /// Who to run; weak, so a deleted namespace simply drops out.
    engines: HashMap<u64, Weak<dyn Due>>,
}

struct Inner {
    queue: Mutex<Queue>,
    wake: Notify,
    closed: AtomicBool,
}

impl Inner {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A handle engines keep to tell the scheduler when they are next due.
#[derive(Clone, Default)]
pub struct Timer {
    inner: Weak<Inner>,
    id: u64,
}

impl Timer {
    /// Asks to be run at `when` (`None`: nothing is due, or the clock is frozen).
    pub fn schedule(&self, when: Option<Instant>) {
        let Some(inner) = self.inner.upgrade() else {
            return;
        };
        let earliest = {
            let mut q = inner.queue();
            if let Some(old) = q.at.remove(&self.id) {
                q.order.remove(&(old, self.id));
            }
            let Some(when) = when else { return };
            q.at.insert(self.id, when);
            q.order.insert((when, self.id));
            q.order.first().map(|(t, _)| *t) == Some(when)
        };
        // Only a new earliest time changes how long the loop sleeps.
        if earliest {
            inner.wake.notify_one();
        }
    }
}

/// The process's scheduler. Dropping it stops its task.
pub struct Scheduler {
    inner: Arc<Inner>,
}

impl Default for Scheduler {
    fn default() -> Self {
        Scheduler::new()
    }
}

impl Scheduler {
    /// A scheduler whose loop runs on the current tokio runtime (when there
    /// is one; without a runtime nothing runs in the background).
    pub fn new() -> Scheduler {
        let inner = Arc::new(Inner {
            queue: Mutex::new(Queue::default()),
            wake: Notify::new(),
            closed: AtomicBool::new(false),
        });
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(run(inner.clone()));
        }
        Scheduler { inner }
    }

    /// Registers an engine; its timer tells the scheduler when it is due.
    pub fn attach<E: Due + 'static>(&self, id: u64, engine: &Arc<E>) -> Timer {
        let weak = Arc::downgrade(engine);
        let engine: Weak<dyn Due> = weak;
        self.inner.queue().engines.insert(id, engine);
        Timer {
            inner: Arc::downgrade(&self.inner),
            id,
        }
    }

    /// Forgets an engine (its namespace was deleted).
    pub fn detach(&self, id: u64) {
        let mut q = self.inner.queue();
        if let Some(old) = q.at.remove(&id) {
            q.order.remove(&(old, id));
        }
        q.engines.remove(&id);
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        self.inner.closed.store(true, Ordering::Release);
        self.inner.wake.notify_one();
    }
}

/// Takes every engine due by `now` out of the queue; returns them and the
/// next wake-up time.
fn take_due(inner: &Inner, now: Instant) -> (Vec<Arc<dyn Due>>, Option<Instant>) {
    let mut q = inner.queue();
    let mut due = Vec::new();
    while let Some(&(when, id)) = q.order.first() {
        if when > now {
            break;
        }
        q.order.pop_first();
        q.at.remove(&id);
        match q.engines.get(&id).and_then(Weak::upgrade) {
            Some(engine) => due.push(engine),
            None => {
                q.engines.remove(&id);
            }
        }
    }
    (due, q.order.first().map(|(t, _)| *t))
}

async fn run(inner: Arc<Inner>) {
    loop {
        // Registered before looking, so a wake-up sent in between is kept.
        let notified = inner.wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if inner.closed.load(Ordering::Acquire) {
            return;
        }
        let (due, next) = take_due(&inner, Instant::now());
        for engine in due {
            // Each engine runs on its own blocking thread and reschedules
            // itself when done; a slow one never delays the others.
            tokio::task::spawn_blocking(move || {
                engine.run_due();
            });
        }
        match next {
            Some(when) => {
                tokio::select! {
                    _ = tokio::time::sleep_until(tokio::time::Instant::from_std(when)) => {}
                    _ = &mut notified => {}
                }
            }
            None => notified.await,
        }
    }
}

/// How long after a due time the scheduler runs it: a millisecond of slack
/// so that the engine's clock, read in whole seconds, has reached it.
pub const SLACK: Duration = Duration::from_millis(1);

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Anything [`Due`] can be scheduled: here a counter, no engine.
    #[derive(Default)]
    struct Runs(AtomicUsize);

    impl Due for Runs {
        fn run_due(&self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    async fn wait_for(runs: &Runs, want: usize) -> usize {
        let deadline = Instant::now() + Duration::from_secs(5);
        while runs.0.load(Ordering::SeqCst) < want && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        runs.0.load(Ordering::SeqCst)
    }

    #[tokio::test]
    async fn what_is_due_runs_once_and_a_dropped_one_is_forgotten() {
        let scheduler = Scheduler::new();
        let runs = Arc::new(Runs::default());
        let timer = scheduler.attach(1, &runs);
        timer.schedule(Some(Instant::now()));
        assert_eq!(wait_for(&runs, 1).await, 1);
        // Run once per schedule: nothing more without a new time.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(runs.0.load(Ordering::SeqCst), 1);
        timer.schedule(Some(Instant::now() + Duration::from_millis(20)));
        assert_eq!(wait_for(&runs, 2).await, 2);
        // Gone before its time: dropped from the queue, never run.
        let gone = Arc::new(Runs::default());
        scheduler
            .attach(2, &gone)
            .schedule(Some(Instant::now() + Duration::from_millis(20)));
        drop(gone);
        let deadline = Instant::now() + Duration::from_secs(5);
        while scheduler.inner.queue().engines.contains_key(&2) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(!scheduler.inner.queue().engines.contains_key(&2));
        assert!(scheduler.inner.queue().engines.contains_key(&1));
    }
}
