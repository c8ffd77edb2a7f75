//! Races between the control API's state swaps and the background
//! transition runner, driven on the engine itself so that thousands of
//! interleavings fit in a few seconds.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use apayun_mock::config::ServeConfig;
use apayun_mock::test_support::actions::ActionName;
use apayun_mock::test_support::engine::{Call, Engine, Settings};
use apayun_mock::test_support::protocol::Params;
use apayun_mock::test_support::seed::Seed;
use serde_json::{json, Value};

use crate::helpers::EXAMPLE_GUID;

fn engine() -> Arc<Engine> {
    let config = ServeConfig {
        rng_seed: Some(7),
        ..ServeConfig::default()
    };
    let seed = Arc::new(Seed::default_set().unwrap_or_else(|e| panic!("seed: {e}")));
    let settings =
        Arc::new(Settings::from_config(&config, &seed).unwrap_or_else(|e| panic!("{e}")));
    Arc::new(Engine::open("race", settings, seed, None).unwrap_or_else(|e| panic!("open: {e}")))
}

fn pending_kinds(engine: &Engine) -> Vec<String> {
    let timeline = engine
        .timeline()
        .unwrap_or_else(|e| panic!("timeline: {e}"));
    timeline.pending.into_iter().map(|t| t.kind).collect()
}

fn stop_example(engine: &Engine) {
    let mut params = serde_json::Map::new();
    params.insert("guid".into(), json!(EXAMPLE_GUID));
    let call = Call {
        action: ActionName::Stop,
        userid: "1".into(),
        taskid: None,
        params: Params(params),
    };
    let outcome = engine.execute(&call, None);
    assert!(outcome.result.is_ok(), "stop: {:?}", outcome.result);
}

fn run_status(engine: &Engine) -> Value {
    let conn = engine.store().lock();
    let inst = apayun_mock::test_support::store::instances::get(&conn, EXAMPLE_GUID)
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("the example instance is gone"));
    json!([inst.run_status, inst.act_status])
}

/// A snapshot holds a pending stop. Restoring it while the runner spins must
/// give back the stop still pending (the restored clock has not reached it),
/// and the next clock advance must then run it. Before restore and the
/// runner were exclusive, the runner could compare the restored database
/// with the clock from before the restore and run the stop early.
#[test]
fn restore_and_the_runner_are_exclusive() {
    let engine = engine();
    // A frozen clock: the stop (due in 10 s) stays pending in the snapshot
    // however long the loop takes.
    engine.freeze();
    stop_example(&engine);
    let pending = pending_kinds(&engine);
    assert!(pending.iter().any(|k| k == "stopped"), "{pending:?}");
    let stopping = run_status(&engine);
    engine
        .take_snapshot("pending")
        .unwrap_or_else(|e| panic!("snapshot: {e}"));

    let done = Arc::new(AtomicBool::new(false));
    let runner = {
        let (engine, done) = (engine.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                engine.run_due();
            }
        })
    };
    let started = Instant::now();
    let mut rounds = 0;
    let mut failure = None;
    // Bounded in count and in time. With the runner spinning, the race
    // showed within the first ten rounds of every run before the fix; a
    // 4,000-round run (80 s) after it showed nothing. A debug build does
    // about 60 rounds a second on an idle machine, a third of that on a
    // loaded one.
    while rounds < 2000 && started.elapsed() < Duration::from_secs(3) {
        rounds += 1;
        engine
            .advance(3600)
            .unwrap_or_else(|e| panic!("advance: {e:?}"));
        let stopped = run_status(&engine);
        let restored = engine
            .restore_snapshot("pending")
            .unwrap_or_else(|e| panic!("restore: {e}"));
        assert!(restored);
        let after = pending_kinds(&engine);
        if after != pending || run_status(&engine) != stopping {
            failure = Some(format!(
                "round {rounds}: after restore, pending {after:?} (snapshot had {pending:?}), \
                 state {} (snapshot had {stopping})",
                run_status(&engine)
            ));
            break;
        }
        engine
            .advance(3600)
            .unwrap_or_else(|e| panic!("advance: {e:?}"));
        if run_status(&engine) != stopped {
            failure = Some(format!(
                "round {rounds}: the advance after a restore left {} instead of {stopped}",
                run_status(&engine)
            ));
            break;
        }
        engine
            .restore_snapshot("pending")
            .unwrap_or_else(|e| panic!("restore: {e}"));
    }
    done.store(true, Ordering::Relaxed);
    runner
        .join()
        .unwrap_or_else(|_| panic!("the runner thread panicked"));
    assert_eq!(failure, None);
    assert!(rounds >= 20, "only {rounds} rounds ran");
}
