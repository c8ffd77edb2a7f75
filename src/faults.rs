//! Fault injection: rules that match an action and/or a member and fire
//! always, for the next N calls, after the first N calls, or with a seeded
//! probability, answering with an error, an HTTP status, a delay, a dropped
//! connection, or a stall of the transitions the call schedules.

use std::sync::Mutex;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::actions::ActionName;
use crate::protocol::{control, whole};

/// What a fired rule does. `error`, `http` and `drop` take `applied`: when
/// true the call runs first (its effects stay) and only its answer is
/// replaced — the ghost order a billing system's retry code is written for.
///
/// Every variant is a struct variant, even those without fields: serde's
/// internally tagged enums ignore unknown fields of a unit variant despite
/// `deny_unknown_fields` (`{"kind":"drop","times":1}` would be a drop rule
/// that fires forever), while a struct variant refuses them. A field is
/// added to one variant by one line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Effect {
    /// A business error in the envelope; nothing changes unless `applied`.
    Error {
        #[serde(default = "default_code", deserialize_with = "named::code")]
        #[schema(schema_with = control::error_code_schema)]
        code: i64,
        #[serde(default = "default_message")]
        message: String,
        #[serde(default = "default_reason")]
        reason: String,
        #[serde(default)]
        applied: bool,
    },
    /// An HTTP status with the given (possibly empty or garbage) body;
    /// nothing changes unless `applied`.
    Http {
        #[serde(deserialize_with = "named::status")]
        #[schema(schema_with = control::status_schema)]
        status: u16,
        #[serde(default)]
        body: String,
        #[serde(default)]
        applied: bool,
    },
    /// Waits, then the call proceeds: `ms`, or uniform in `min_ms..=max_ms`.
    Delay {
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            deserialize_with = "named::ms"
        )]
        #[schema(schema_with = control::ms_schema)]
        ms: Option<u64>,
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            deserialize_with = "named::min_ms"
        )]
        #[schema(schema_with = control::ms_schema)]
        min_ms: Option<u64>,
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            deserialize_with = "named::max_ms"
        )]
        #[schema(schema_with = control::ms_schema)]
        max_ms: Option<u64>,
    },
    /// The connection is closed with no answer; nothing changes unless
    /// `applied`.
    Drop {
        #[serde(default)]
        applied: bool,
    },
    /// The call succeeds but its transitions wait until the rule is removed.
    Stall {},
}

impl Effect {
    /// Whether the call runs before its answer is replaced.
    pub fn applied(&self) -> bool {
        match self {
            Effect::Error { applied, .. }
            | Effect::Http { applied, .. }
            | Effect::Drop { applied } => *applied,
            Effect::Delay { .. } | Effect::Stall {} => false,
        }
    }
}

/// The effects' whole numbers, each naming its field (see
/// [`whole::int_named`]).
mod named {
    use super::whole::{int_named, opt_named};
    use serde::Deserializer;

    pub fn code<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        int_named(d, "code")
    }
    pub fn status<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
        int_named(d, "status")
    }
    pub fn ms<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        opt_named(d, "ms")
    }
    pub fn min_ms<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        opt_named(d, "min_ms")
    }
    pub fn max_ms<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        opt_named(d, "max_ms")
    }
}

fn default_code() -> i64 {
    1
}
fn default_message() -> String {
    "模拟故障".to_string()
}
fn default_reason() -> String {
    crate::protocol::Reason::InjectedFault.as_str().to_string()
}

/// A rule as a tester posts it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// One of the engine's actions; absent or null: every action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = action_schema)]
    pub action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userid: Option<String>,
    /// Matching calls let through before the rule starts firing.
    #[serde(default, deserialize_with = "whole::int")]
    #[schema(schema_with = control::count_schema)]
    pub after: u64,
    /// How many times it fires; absent = forever.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "whole::opt"
    )]
    #[schema(schema_with = control::optional_count_schema)]
    pub times: Option<u64>,
    /// Chance per matching call, 0..=1.
    #[serde(default = "default_probability")]
    #[schema(minimum = 0, maximum = 1)]
    pub probability: f64,
    pub effect: Effect,
}

fn default_probability() -> f64 {
    1.0
}

/// `action` in the OpenAPI document: a name of [`ActionName::ALL`], or null.
fn action_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    let mut names: Vec<Option<&str>> = ActionName::ALL.iter().map(|a| Some(a.wire())).collect();
    names.push(None);
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(names))
        .build()
}

impl Spec {
    /// Checks what serde cannot and parses the action: the rule as
    /// [`Faults`] holds it, or why it is refused.
    pub fn check(self) -> Result<Checked, String> {
        // A rule for an action the engine does not know would never fire:
        // a typo that silently tests nothing.
        let action = match &self.action {
            None => None,
            Some(action) => Some(ActionName::parse(action).ok_or_else(|| {
                let known: Vec<&str> = ActionName::ALL.iter().map(|a| a.wire()).collect();
                format!("unknown action {action:?}; known: {}", known.join(", "))
            })?),
        };
        self.check_values()?;
        Ok(Checked {
            action,
            userid: self.userid,
            after: self.after,
            times: self.times,
            probability: self.probability,
            effect: self.effect,
        })
    }

    /// The counts, the chance and the effect's values.
    fn check_values(&self) -> Result<(), String> {
        // Counts are JSON integers of 64 bits, signed, as the document says.
        if self.after > i64::MAX as u64 || self.times.is_some_and(|t| t > i64::MAX as u64) {
            return Err(format!("after and times must be at most {}", i64::MAX));
        }
        // Code 0 is the success envelope: an error effect must not claim it.
        if let Effect::Error { code: 0, .. } = self.effect {
            return Err("an error effect needs a code other than 0 (0 means success)".into());
        }
        if !(0.0..=1.0).contains(&self.probability) {
            return Err(format!(
                "probability must be within 0..=1, got {}",
                self.probability
            ));
        }
        match &self.effect {
            Effect::Http { status, .. } if !(100..=599).contains(status) => Err(format!(
                "status must be an HTTP status 100..=599, got {status}"
            )),
            Effect::Delay {
                ms: None,
                min_ms: None,
                max_ms: None,
            } => Err("delay needs ms, or min_ms and max_ms".into()),
            // Both forms at once: which one the tester meant is a guess.
            Effect::Delay {
                ms: Some(_),
                min_ms,
                max_ms,
            } if min_ms.is_some() || max_ms.is_some() => {
                Err("delay takes ms, or min_ms and max_ms, not both".into())
            }
            Effect::Delay {
                ms: None,
                min_ms,
                max_ms,
            } => match (min_ms, max_ms) {
                // The two bounds of a range, in either order (the OpenAPI
                // document cannot say that one must be the smaller).
                (Some(lo), Some(hi)) if *lo.max(hi) <= 60_000 => Ok(()),
                _ => Err("delay needs min_ms and max_ms, each at most 60000".into()),
            },
            Effect::Delay { ms: Some(ms), .. } if *ms > 60_000 => {
                Err("delay ms must be at most 60000".into())
            }
            _ => Ok(()),
        }
    }
}

/// A rule's spec once checked ([`Spec::check`]), its action parsed: what
/// [`Faults`] holds and lists (serialized as it was posted).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Checked {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<ActionName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userid: Option<String>,
    pub after: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    pub probability: f64,
    pub effect: Effect,
}

/// A stored rule with its counters.
#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    pub id: i64,
    #[serde(flatten)]
    pub spec: Checked,
    /// Matching calls seen so far.
    pub matched: u64,
    /// Times it fired.
    pub fired: u64,
}

/// The OpenAPI schema of a stored rule: its spec's fields (which serde
/// flattens into it) with its `id` and counters, named `FaultRule`.
impl utoipa::PartialSchema for Rule {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
        use utoipa::openapi::RefOr;
        let mut spec = match <Spec as utoipa::PartialSchema>::schema() {
            RefOr::T(Schema::Object(object)) => object,
            _ => ObjectBuilder::new().build(),
        };
        for (name, description) in [
            ("id", "The rule's id (DELETE /_mock/faults/{id})"),
            ("matched", "Matching calls seen so far"),
            ("fired", "Times it fired"),
        ] {
            spec.properties.insert(
                name.to_string(),
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(0))
                    .description(Some(description))
                    .into(),
            );
            spec.required.push(name.to_string());
        }
        spec.description = Some("A fault rule with its id and counters".to_string());
        RefOr::T(Schema::Object(spec))
    }
}

impl utoipa::ToSchema for Rule {
    fn name() -> std::borrow::Cow<'static, str> {
        "FaultRule".into()
    }
}

#[derive(Debug)]
pub struct Faults {
    state: Mutex<RuleBook>,
}

#[derive(Debug)]
struct RuleBook {
    rules: Vec<Rule>,
    next_id: i64,
    rng: StdRng,
}

/// A rule that fired for a call.
#[derive(Debug, Clone, PartialEq)]
pub struct Fired {
    pub rule: i64,
    pub effect: Effect,
    /// The chosen delay, for delay effects.
    pub delay_ms: u64,
}

impl Faults {
    pub fn new(seed: Option<u64>) -> Faults {
        Faults {
            state: Mutex::new(RuleBook {
                rules: Vec::new(),
                next_id: 1,
                rng: match seed {
                    Some(s) => StdRng::seed_from_u64(s ^ 0xfa17),
                    None => StdRng::from_os_rng(),
                },
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RuleBook> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn add(&self, spec: Checked) -> Rule {
        let mut state = self.lock();
        let rule = Rule {
            id: state.next_id,
            spec,
            matched: 0,
            fired: 0,
        };
        state.next_id += 1;
        state.rules.push(rule.clone());
        rule
    }

    pub fn list(&self) -> Vec<Rule> {
        self.lock().rules.clone()
    }

    pub fn remove(&self, id: i64) -> bool {
        let mut state = self.lock();
        let before = state.rules.len();
        state.rules.retain(|r| r.id != id);
        state.rules.len() != before
    }

    pub fn clear(&self) {
        self.lock().rules.clear();
    }

    /// Ids of live stall rules (their transitions wait).
    pub fn stalling(&self) -> Vec<i64> {
        self.lock()
            .rules
            .iter()
            .filter(|r| r.spec.effect == Effect::Stall {})
            .map(|r| r.id)
            .collect()
    }

    /// The first rule that fires for this call, counting the call against
    /// every matching rule until one fires.
    pub fn check(&self, action: ActionName, userid: &str) -> Option<Fired> {
        let mut state = self.lock();
        let RuleBook { rules, rng, .. } = &mut *state;
        for rule in rules.iter_mut() {
            let spec = &rule.spec;
            if spec.action.is_some_and(|a| a != action)
                || spec.userid.as_deref().is_some_and(|u| u != userid)
            {
                continue;
            }
            rule.matched += 1;
            if rule.matched <= spec.after {
                continue;
            }
            if spec.times.is_some_and(|t| rule.fired >= t) {
                continue;
            }
            if spec.probability < 1.0 && rng.random::<f64>() >= spec.probability {
                continue;
            }
            rule.fired += 1;
            let delay_ms = match spec.effect {
                Effect::Delay { ms: Some(ms), .. } => ms,
                Effect::Delay {
                    min_ms: Some(lo),
                    max_ms: Some(hi),
                    ..
                } => rng.random_range(lo.min(hi)..=lo.max(hi)),
                _ => 0,
            };
            return Some(Fired {
                rule: rule.id,
                effect: spec.effect.clone(),
                delay_ms,
            });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> Spec {
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"))
    }

    /// A rule as the control API would add it: read, then checked.
    fn rule(json: &str) -> Checked {
        spec(json).check().unwrap_or_else(|e| panic!("{e}: {json}"))
    }

    #[test]
    fn fail_twice_then_succeed() {
        let f = Faults::new(Some(1));
        f.add(rule(r#"{"action":"create","times":2,"effect":{"kind":"error","message":"库存不足","reason":"out_of_stock"}}"#));
        let fired: Vec<bool> = (0..4)
            .map(|_| f.check(ActionName::Create, "1").is_some())
            .collect();
        assert_eq!(fired, [true, true, false, false]);
        assert!(f.check(ActionName::Stop, "1").is_none());
    }

    #[test]
    fn succeed_twice_then_fail() {
        let f = Faults::new(Some(1));
        f.add(rule(r#"{"userid":"2","after":2,"effect":{"kind":"drop"}}"#));
        let fired: Vec<bool> = (0..4)
            .map(|_| f.check(ActionName::GetZones, "2").is_some())
            .collect();
        assert_eq!(fired, [false, false, true, true]);
        assert!(f.check(ActionName::GetZones, "1").is_none());
    }

    #[test]
    fn probability_repeats_with_seed() {
        let run = || {
            let f = Faults::new(Some(42));
            f.add(rule(
                r#"{"probability":0.5,"effect":{"kind":"http","status":503}}"#,
            ));
            (0..64)
                .map(|_| f.check(ActionName::GetZones, "1").is_some())
                .collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        assert!(a.iter().any(|x| *x) && a.iter().any(|x| !*x));
    }

    #[test]
    fn a_delay_range_is_drawn_within_its_bounds_and_spans_them() {
        let f = Faults::new(Some(3));
        f.add(rule(
            r#"{"effect":{"kind":"delay","min_ms":100,"max_ms":200}}"#,
        ));
        let drawn: Vec<u64> = (0..2000)
            .map(|_| {
                f.check(ActionName::GetZones, "1")
                    .map_or(0, |fired| fired.delay_ms)
            })
            .collect();
        let (lo, hi) = (
            drawn.iter().min().copied().unwrap_or(0),
            drawn.iter().max().copied().unwrap_or(0),
        );
        assert!(lo >= 100 && hi <= 200, "drawn within {lo}..={hi}");
        // Uniform over 101 values: 2000 draws reach both ends' tenth.
        assert!(lo < 110 && hi > 190, "drawn within {lo}..={hi}");
    }

    #[test]
    fn a_fixed_delay_is_exact_and_other_effects_have_none() {
        let f = Faults::new(Some(3));
        f.add(rule(
            r#"{"action":"sync_line","effect":{"kind":"delay","ms":250}}"#,
        ));
        f.add(rule(r#"{"effect":{"kind":"http","status":503}}"#));
        assert_eq!(
            f.check(ActionName::SyncLine, "1").map(|x| x.delay_ms),
            Some(250)
        );
        assert_eq!(
            f.check(ActionName::GetZones, "1").map(|x| x.delay_ms),
            Some(0)
        );
    }

    #[test]
    fn an_error_rule_defaults_to_code_1_the_mock_message_and_reason() {
        let s = spec(r#"{"effect":{"kind":"error"}}"#);
        assert_eq!(s.probability, 1.0);
        assert_eq!((s.after, s.times), (0, None));
        assert_eq!(
            s.effect,
            Effect::Error {
                code: 1,
                message: "模拟故障".into(),
                reason: "injected_fault".into(),
                applied: false,
            }
        );
    }

    #[test]
    fn applied_is_an_option_of_error_http_and_drop_only() {
        for kind in [r#""error""#, r#""http","status":503"#, r#""drop""#] {
            let on = spec(&format!(r#"{{"effect":{{"kind":{kind},"applied":true}}}}"#));
            let off = spec(&format!(r#"{{"effect":{{"kind":{kind}}}}}"#));
            assert!(on.effect.applied(), "{kind}");
            assert!(!off.effect.applied(), "{kind} defaults to not applied");
        }
        for effect in [
            r#"{"kind":"delay","ms":5,"applied":true}"#,
            r#"{"kind":"stall","applied":true}"#,
            r#"{"kind":"stall","applied":false}"#,
        ] {
            let err = serde_json::from_str::<Spec>(&format!(r#"{{"effect":{effect}}}"#))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("unknown field `applied`"), "{effect}: {err:?}");
        }
    }

    #[test]
    fn rules_get_rising_ids_and_can_be_listed_removed_and_cleared() {
        let f = Faults::new(Some(1));
        let ids: Vec<i64> = ["drop", "stall", "drop"]
            .iter()
            .map(|k| f.add(rule(&format!(r#"{{"effect":{{"kind":"{k}"}}}}"#))).id)
            .collect();
        assert_eq!(ids, [1, 2, 3]);
        assert_eq!(f.stalling(), [2]);
        assert!(!f.remove(9), "no rule 9");
        assert_eq!(f.list().len(), 3);
        assert!(f.remove(2));
        assert_eq!(f.list().iter().map(|r| r.id).collect::<Vec<_>>(), [1, 3]);
        assert!(f.stalling().is_empty());
        assert!(!f.remove(2), "already gone");
        f.clear();
        assert!(f.list().is_empty());
        assert_eq!(f.add(rule(r#"{"effect":{"kind":"drop"}}"#)).id, 4);
    }

    #[test]
    fn a_call_counts_against_every_matching_rule_until_one_fires() {
        let f = Faults::new(Some(1));
        f.add(rule(
            r#"{"action":"stop","after":1,"effect":{"kind":"drop"}}"#,
        ));
        f.add(rule(r#"{"effect":{"kind":"stall"}}"#));
        f.add(rule(r#"{"effect":{"kind":"drop"}}"#));
        let fired: Vec<Option<i64>> = [ActionName::Stop, ActionName::Stop, ActionName::Start]
            .iter()
            .map(|a| f.check(*a, "1").map(|x| x.rule))
            .collect();
        assert_eq!(fired, [Some(2), Some(1), Some(2)]);
        let counters: Vec<(u64, u64)> = f.list().iter().map(|r| (r.matched, r.fired)).collect();
        assert_eq!(counters, [(2, 1), (2, 2), (0, 0)]);
    }

    #[test]
    fn a_rule_for_a_member_and_an_action_needs_both() {
        let f = Faults::new(Some(1));
        f.add(rule(
            r#"{"action":"stop","userid":"2","effect":{"kind":"drop"}}"#,
        ));
        assert!(f.check(ActionName::Stop, "1").is_none());
        assert!(f.check(ActionName::Start, "2").is_none());
        assert!(f.check(ActionName::Stop, "2").is_some());
    }

    #[test]
    fn probability_is_the_share_of_calls_that_fire() {
        let f = Faults::new(Some(9));
        f.add(rule(r#"{"probability":0.2,"effect":{"kind":"drop"}}"#));
        let fired = (0..2000)
            .filter(|_| f.check(ActionName::GetZones, "1").is_some())
            .count();
        assert!((300..500).contains(&fired), "{fired} of 2000 at 0.2");
        let never = Faults::new(Some(9));
        never.add(rule(r#"{"probability":0,"effect":{"kind":"drop"}}"#));
        assert!((0..200).all(|_| never.check(ActionName::GetZones, "1").is_none()));
    }

    #[test]
    fn a_certain_rule_leaves_the_seeded_draws_of_others_alone() {
        // Adding a rule that always fires must not shift the random choices
        // of the other rules: a seeded run stays comparable.
        let delays = |with_certain_rule: bool| {
            let f = Faults::new(Some(5));
            if with_certain_rule {
                f.add(rule(r#"{"action":"stop","effect":{"kind":"drop"}}"#));
            }
            f.add(rule(
                r#"{"action":"start","effect":{"kind":"delay","min_ms":0,"max_ms":60000}}"#,
            ));
            (0..8)
                .map(|_| {
                    f.check(ActionName::Stop, "1");
                    f.check(ActionName::Start, "1").map_or(0, |x| x.delay_ms)
                })
                .collect::<Vec<u64>>()
        };
        assert_eq!(delays(true), delays(false));
    }

    #[test]
    fn limits_are_inclusive() {
        let ok = |json: &str| spec(json).check().map(drop);
        for good in [
            r#"{"probability":0,"effect":{"kind":"drop"}}"#,
            r#"{"probability":1,"effect":{"kind":"drop"}}"#,
            r#"{"effect":{"kind":"http","status":100}}"#,
            r#"{"effect":{"kind":"http","status":599}}"#,
            r#"{"effect":{"kind":"delay","ms":60000}}"#,
            r#"{"effect":{"kind":"delay","ms":0}}"#,
            r#"{"effect":{"kind":"delay","min_ms":7,"max_ms":7}}"#,
            r#"{"effect":{"kind":"delay","min_ms":0,"max_ms":60000}}"#,
        ] {
            assert_eq!(ok(good), Ok(()), "{good}");
        }
        for (bad, why) in [
            (
                r#"{"probability":-0.1,"effect":{"kind":"drop"}}"#,
                "probability must be within 0..=1, got -0.1",
            ),
            (
                r#"{"effect":{"kind":"http","status":600}}"#,
                "status must be an HTTP status 100..=599, got 600",
            ),
            (
                r#"{"effect":{"kind":"delay","ms":60001}}"#,
                "delay ms must be at most 60000",
            ),
            (
                r#"{"effect":{"kind":"delay","min_ms":1,"max_ms":60001}}"#,
                "delay needs min_ms and max_ms, each at most 60000",
            ),
            (
                r#"{"effect":{"kind":"delay","min_ms":1}}"#,
                "delay needs min_ms and max_ms, each at most 60000",
            ),
            (
                r#"{"effect":{"kind":"delay"}}"#,
                "delay needs ms, or min_ms and max_ms",
            ),
            (
                r#"{"effect":{"kind":"delay","ms":5,"min_ms":1,"max_ms":9}}"#,
                "delay takes ms, or min_ms and max_ms, not both",
            ),
            (
                r#"{"effect":{"kind":"delay","ms":5,"max_ms":9}}"#,
                "delay takes ms, or min_ms and max_ms, not both",
            ),
        ] {
            assert_eq!(ok(bad), Err(why.to_string()), "{bad}");
        }
    }

    #[test]
    fn every_effect_refuses_a_field_it_does_not_have() {
        for kind in ["error", "http", "delay", "drop", "stall"] {
            let json = format!(r#"{{"effect":{{"kind":"{kind}","times":1}}}}"#);
            let err = serde_json::from_str::<Spec>(&json)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("unknown field `times`"), "{kind}: {err:?}");
        }
        // The rule's own `times` is fine, and the effect's shape is unchanged.
        let drop = spec(r#"{"times":1,"effect":{"kind":"drop"}}"#);
        assert_eq!(drop.effect, Effect::Drop { applied: false });
        assert_eq!(
            serde_json::to_value(&drop.effect).ok(),
            Some(serde_json::json!({"kind": "drop", "applied": false}))
        );
    }

    #[test]
    fn counters_and_amounts_take_whole_numbers_in_every_form() {
        let s = spec(
            r#"{"after":"2","times":3.0,"effect":{"kind":"delay","min_ms":"10","max_ms":20.0}}"#,
        );
        assert_eq!((s.after, s.times), (2, Some(3)));
        assert_eq!(
            s.effect,
            Effect::Delay {
                ms: None,
                min_ms: Some(10),
                max_ms: Some(20)
            }
        );
        let http = spec(r#"{"effect":{"kind":"http","status":"503"}}"#);
        assert!(matches!(http.effect, Effect::Http { status: 503, .. }));
        for bad in [
            r#"{"times":1.5,"effect":{"kind":"drop"}}"#,
            r#"{"after":"x","effect":{"kind":"drop"}}"#,
            r#"{"effect":{"kind":"error","code":true}}"#,
        ] {
            assert!(serde_json::from_str::<Spec>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rejects_bad_rules() {
        assert!(serde_json::from_str::<Spec>(r#"{"effect":{"kind":"explode"}}"#).is_err());
        assert!(spec(r#"{"probability":2,"effect":{"kind":"drop"}}"#)
            .check()
            .map(drop)
            .is_err());
        assert!(spec(r#"{"effect":{"kind":"delay"}}"#)
            .check()
            .map(drop)
            .is_err());
        // The bounds of a range in either order (docs/fidelity.md).
        assert!(spec(r#"{"effect":{"kind":"delay","min_ms":5,"max_ms":1}}"#)
            .check()
            .map(drop)
            .is_ok());
        assert!(spec(r#"{"effect":{"kind":"http","status":99}}"#)
            .check()
            .map(drop)
            .is_err());
        assert!(spec(r#"{"effect":{"kind":"stall"}}"#)
            .check()
            .map(drop)
            .is_ok());
        assert!(spec(r#"{"action":"crate","effect":{"kind":"drop"}}"#)
            .check()
            .map(drop)
            .is_err_and(|m| m.contains("crate") && m.contains("create")));
        assert!(spec(r#"{"action":"refund","effect":{"kind":"drop"}}"#)
            .check()
            .map(drop)
            .is_ok());
        assert!(spec(r#"{"effect":{"kind":"error","code":0}}"#)
            .check()
            .map(drop)
            .is_err());
        assert!(spec(r#"{"effect":{"kind":"error","code":2}}"#)
            .check()
            .map(drop)
            .is_ok());
    }

    /// A rule's action is parsed once, when it is checked: the rule holds
    /// the action, matches calls by it, and lists it by its wire name.
    #[test]
    fn a_checked_rule_holds_its_action_and_lists_it_as_posted() {
        let posted =
            r#"{"action":"degrade_cancel","userid":"2","times":1,"effect":{"kind":"drop"}}"#;
        let checked = rule(posted);
        assert_eq!(checked.action, Some(ActionName::DegradeCancel));
        assert_eq!(
            serde_json::to_value(&checked).ok(),
            serde_json::to_value(spec(posted)).ok()
        );
        let f = Faults::new(Some(1));
        let id = f.add(checked).id;
        assert!(f.check(ActionName::Degrade, "2").is_none());
        assert_eq!(
            f.check(ActionName::DegradeCancel, "2").map(|x| x.rule),
            Some(id)
        );
        assert_eq!(
            serde_json::to_value(f.list()).ok(),
            Some(serde_json::json!([{
                "id": id, "action": "degrade_cancel", "userid": "2", "after": 0, "times": 1,
                "probability": 1.0, "effect": {"kind": "drop", "applied": false},
                "matched": 1, "fired": 1,
            }]))
        );
        let unknown = spec(r#"{"action":"degrade_cancle","effect":{"kind":"drop"}}"#).check();
        assert!(unknown.is_err_and(
            |m| m.starts_with("unknown action \"degrade_cancle\"; known: getzones, sync_line,")
        ));
    }
}
