//! What an accepted call changed: the typed `effects` of its journal entry.
//! Actions record these; the journal serializes them (the wire shape below
//! is the one `GET /_mock/requests` has always had: one flat object per
//! change, its keys in this order) and indexes the GUIDs they name for
//! `?guid=`. A fault rule's `faults::Effect` is another thing: what a rule
//! does to a call, not what a call did.

use serde::{Serialize, Serializer};

use crate::domain::state::{ActStatus, OrderStatus, RunStatus};
use crate::domain::transition::TransitionKind;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Change {
    /// `create` opened an instance on a stock unit (`null`: no stock
    /// units left to track, the line has none).
    Created {
        #[serde(rename = "created")]
        guid: String,
        stock_id: Option<String>,
    },
    /// A transition of an instance stored for later.
    Scheduled {
        #[serde(rename = "scheduled", serialize_with = "kind_name")]
        kind: TransitionKind,
        guid: String,
        /// Engine time, in the engine's zone.
        due: String,
    },
    /// An instance's state as written back.
    State {
        guid: String,
        order_status: OrderStatus,
        run_status: RunStatus,
        act_status: ActStatus,
    },
    /// A degrade record created, by its own GUID.
    DegradeCreated {
        #[serde(rename = "degrade_created")]
        guid: String,
        item: String,
    },
    /// A pending degrade cancelled.
    DegradeCancelled {
        #[serde(rename = "degrade_cancelled")]
        guid: String,
    },
    /// The stored answer of an earlier call with the same
    /// `agent_order_no` was given again, naming these instances.
    Replayed {
        replayed_agent_order_no: String,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        guids: Vec<String>,
    },
}

/// One kind of change as the dashboard tells it apart: the wire key that
/// only this kind has, and the sign drawn before it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ChangeKey {
    pub key: &'static str,
    pub sign: &'static str,
}

/// Every kind of change, in the order of [`Change`]'s variants.
pub const CHANGE_KEYS: [ChangeKey; 6] = [
    ChangeKey {
        key: "created",
        sign: "+",
    },
    ChangeKey {
        key: "scheduled",
        sign: "→",
    },
    ChangeKey {
        key: "order_status",
        sign: "=",
    },
    ChangeKey {
        key: "degrade_created",
        sign: "+",
    },
    ChangeKey {
        key: "degrade_cancelled",
        sign: "-",
    },
    ChangeKey {
        key: "replayed_agent_order_no",
        sign: "↺",
    },
];

impl Change {
    /// The key that tells this kind of change apart on the wire.
    pub fn key(&self) -> ChangeKey {
        let index = match self {
            Change::Created { .. } => 0,
            Change::Scheduled { .. } => 1,
            Change::State { .. } => 2,
            Change::DegradeCreated { .. } => 3,
            Change::DegradeCancelled { .. } => 4,
            Change::Replayed { .. } => 5,
        };
        CHANGE_KEYS[index]
    }

    /// The GUIDs the change names: instances and degrade records.
    pub fn guids(&self) -> Vec<&str> {
        match self {
            Change::Created { guid, .. }
            | Change::Scheduled { guid, .. }
            | Change::State { guid, .. }
            | Change::DegradeCreated { guid, .. }
            | Change::DegradeCancelled { guid } => vec![guid.as_str()],
            Change::Replayed { guids, .. } => guids.iter().map(String::as_str).collect(),
        }
    }
}

fn kind_name<S: Serializer>(kind: &TransitionKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(kind.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // A table: one case per wire shape of a change.
    // tidy: table
    #[test]
    fn each_change_keeps_its_wire_shape() {
        let cases = [
            (
                Change::Created {
                    guid: "17a".into(),
                    stock_id: None,
                },
                json!({"created": "17a", "stock_id": null}),
            ),
            (
                Change::Scheduled {
                    kind: TransitionKind::PasswordSet,
                    guid: "17a".into(),
                    due: "2026-01-01 00:00:00".into(),
                },
                json!({"scheduled": "password_set", "guid": "17a", "due": "2026-01-01 00:00:00"}),
            ),
            (
                Change::State {
                    guid: "17a".into(),
                    order_status: OrderStatus::Active,
                    run_status: RunStatus::Stopped,
                    act_status: ActStatus::Starting,
                },
                json!({
                    "guid": "17a",
                    "order_status": OrderStatus::Active.code(),
                    "run_status": RunStatus::Stopped.code(),
                    "act_status": ActStatus::Starting.code(),
                }),
            ),
            (
                Change::DegradeCreated {
                    guid: "17d".into(),
                    item: "ip".into(),
                },
                json!({"degrade_created": "17d", "item": "ip"}),
            ),
            (
                Change::DegradeCancelled { guid: "17d".into() },
                json!({"degrade_cancelled": "17d"}),
            ),
            (
                Change::Replayed {
                    replayed_agent_order_no: "A1".into(),
                    guids: vec![],
                },
                json!({"replayed_agent_order_no": "A1"}),
            ),
            (
                Change::Replayed {
                    replayed_agent_order_no: "A1".into(),
                    guids: vec!["17a".into(), "17b".into()],
                },
                json!({"replayed_agent_order_no": "A1", "guids": ["17a", "17b"]}),
            ),
        ];
        for (change, wire) in cases {
            // Compared as text: the key order is part of the shape.
            assert_eq!(
                serde_json::to_string(&change).ok(),
                serde_json::to_string(&wire).ok(),
                "{change:?}"
            );
        }
    }

    #[test]
    fn each_kind_is_told_apart_by_its_own_key() {
        let state = Change::State {
            guid: "17a".into(),
            order_status: OrderStatus::Active,
            run_status: RunStatus::Running,
            act_status: ActStatus::Idle,
        };
        let samples = [
            Change::Created {
                guid: "17a".into(),
                stock_id: None,
            },
            Change::Scheduled {
                kind: TransitionKind::ALL[0],
                guid: "17a".into(),
                due: "2026-12-04 10:00:00".into(),
            },
            state,
            Change::DegradeCreated {
                guid: "17d".into(),
                item: "ip".into(),
            },
            Change::DegradeCancelled { guid: "17d".into() },
            Change::Replayed {
                replayed_agent_order_no: "A1".into(),
                guids: vec![],
            },
        ];
        for (change, expected) in samples.iter().zip(CHANGE_KEYS) {
            assert_eq!(change.key(), expected, "{change:?}");
            let wire = serde_json::to_value(change).unwrap_or_default();
            let found: Vec<&str> = CHANGE_KEYS
                .iter()
                .map(|k| k.key)
                .filter(|k| wire.get(k).is_some())
                .collect();
            assert_eq!(found, [expected.key], "{wire}");
        }
    }
}
