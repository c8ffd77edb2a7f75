//! The words and rules the dashboard shows, from the server's own tables,
//! embedded in the page as a JSON block (`<script type="application/json"
//! id="vocabulary">`): the action list, every state code with its words and
//! tone, the transition words, the secret rule, and the key that tells
//! each kind of journal change apart. The page keeps no copy of any of them.

use serde_json::{json, Map, Value};

use crate::actions::ActionName;
use crate::change::CHANGE_KEYS;
use crate::domain::state::{ActStatus, OrderStatus, RunStatus};
use crate::domain::transition::TransitionKind;
use crate::protocol::mask::SECRET_RULE;

/// How a state looks on the page: `ok`, `wait`, `busy`, `bad` or `off`
/// (the page draws a colour and an icon for each, never meaning by colour alone).
fn order_tone(s: OrderStatus) -> &'static str {
    match s {
        OrderStatus::Provisioning => "wait",
        OrderStatus::Active => "ok",
        OrderStatus::Expired => "bad",
        OrderStatus::Deleted => "off",
    }
}

fn run_tone(s: RunStatus) -> &'static str {
    match s {
        RunStatus::Running => "ok",
        RunStatus::Stopped => "off",
        RunStatus::Locked => "bad",
    }
}

fn act_tone(s: ActStatus) -> &'static str {
    match s {
        ActStatus::Idle => "off",
        _ => "busy",
    }
}

fn state(code: i64, zh: &str, en: &str, tone: &str) -> Value {
    json!({"code": code.to_string(), "zh": zh, "en": en, "tone": tone})
}

/// The whole vocabulary as JSON.
pub fn vocabulary() -> Value {
    let transitions: Map<String, Value> = TransitionKind::ALL
        .iter()
        .map(|k| {
            let (zh, en) = k.words();
            (k.as_str().to_string(), json!({"zh": zh, "en": en}))
        })
        .collect();
    json!({
        "actions": ActionName::ALL.iter().map(|a| a.wire()).collect::<Vec<_>>(),
        "states": {
            OrderStatus::FIELD: OrderStatus::ALL.iter()
                .map(|s| state(s.code(), s.zh(), s.en(), order_tone(*s))).collect::<Vec<_>>(),
            RunStatus::FIELD: RunStatus::ALL.iter()
                .map(|s| state(s.code(), s.zh(), s.en(), run_tone(*s))).collect::<Vec<_>>(),
            ActStatus::FIELD: ActStatus::ALL.iter()
                .map(|s| state(s.code(), s.zh(), s.en(), act_tone(*s))).collect::<Vec<_>>(),
        },
        "transitions": transitions,
        "secret": SECRET_RULE,
        "changes": CHANGE_KEYS,
    })
}

/// `page` with the vocabulary in place of its `<!-- vocabulary -->` marker.
/// `</` is written `<\/` so the JSON can never close its script element.
pub fn embed(page: &str) -> String {
    let text = vocabulary().to_string().replace("</", "<\\/");
    page.replace(
        "<!-- vocabulary -->",
        &format!("<script type=\"application/json\" id=\"vocabulary\">{text}</script>"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_gets_every_action_state_and_transition() {
        let v = vocabulary();
        assert_eq!(
            v["actions"].as_array().map(Vec::len),
            Some(ActionName::ALL.len())
        );
        assert_eq!(v["states"]["order_status"][1]["en"], "active");
        assert_eq!(v["states"]["run_status"].as_array().map(Vec::len), Some(3));
        assert_eq!(v["transitions"]["provisioned"]["zh"], "开通完成");
        assert_eq!(v["secret"]["equals"], json!(["key"]));
        assert_eq!(v["changes"][0], json!({"key": "created", "sign": "+"}));
        let page = embed("<head><!-- vocabulary --></head>");
        assert!(page.contains("id=\"vocabulary\">{\"actions\""), "{page}");
        assert!(!embed("<!-- vocabulary -->").contains("</script><"));
    }
}
