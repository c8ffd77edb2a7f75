//! What happens to an instance later: the kinds of stored transitions, and
//! what each one finishes. Every mapping here is an exhaustive match, so a
//! new kind does not compile until each of them says what it does.

use super::state::{ActStatus, RunStatus};

/// What happens when a transition falls due. The names double as the
/// callback `event` of the transitions that notify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransitionKind {
    Provisioned,
    Stopped,
    Started,
    Restarted,
    PasswordSet,
    Installed,
    Upgraded,
    Degraded,
    Expired,
    Released,
    /// A deleted instance disappears from sync 24 hours later.
    Purged,
}

impl TransitionKind {
    pub const ALL: [TransitionKind; 11] = [
        TransitionKind::Provisioned,
        TransitionKind::Stopped,
        TransitionKind::Started,
        TransitionKind::Restarted,
        TransitionKind::PasswordSet,
        TransitionKind::Installed,
        TransitionKind::Upgraded,
        TransitionKind::Degraded,
        TransitionKind::Expired,
        TransitionKind::Released,
        TransitionKind::Purged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TransitionKind::Provisioned => "provisioned",
            TransitionKind::Stopped => "stopped",
            TransitionKind::Started => "started",
            TransitionKind::Restarted => "restarted",
            TransitionKind::PasswordSet => "password_set",
            TransitionKind::Installed => "installed",
            TransitionKind::Upgraded => "upgraded",
            TransitionKind::Degraded => "degraded",
            TransitionKind::Expired => "expired",
            TransitionKind::Released => "released",
            TransitionKind::Purged => "purged",
        }
    }

    pub fn parse(text: &str) -> Option<TransitionKind> {
        TransitionKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// What the transition did, in the engine's words and in English (the
    /// dashboard shows both; it has no copy of them).
    pub fn words(self) -> (&'static str, &'static str) {
        use TransitionKind as K;
        match self {
            K::Provisioned => ("开通完成", "provisioned"),
            K::Stopped => ("已关机", "stopped"),
            K::Started => ("已开机", "started"),
            K::Restarted => ("已重启", "restarted"),
            K::PasswordSet => ("密码已重设", "password set"),
            K::Installed => ("重装完成", "installed"),
            K::Upgraded => ("升级完成", "upgraded"),
            K::Degraded => ("降配生效", "degraded"),
            K::Expired => ("已过期", "expired"),
            K::Released => ("已释放", "released"),
            K::Purged => ("已清除", "purged"),
        }
    }

    /// The `act_status` an instance shows until this transition falls due;
    /// `Idle` for the kinds that finish no running operation.
    pub fn busy(self) -> ActStatus {
        use TransitionKind as K;
        match self {
            K::Stopped => ActStatus::Stopping,
            K::Started => ActStatus::Starting,
            K::Restarted => ActStatus::Restarting,
            K::PasswordSet => ActStatus::SettingPassword,
            K::Installed => ActStatus::Reinstalling,
            K::Upgraded => ActStatus::Upgrading,
            K::Provisioned | K::Degraded | K::Expired | K::Released | K::Purged => ActStatus::Idle,
        }
    }

    /// The `run_status` the finished operation leaves (`None`: unchanged).
    pub fn run_status_after(self) -> Option<RunStatus> {
        use TransitionKind as K;
        match self {
            K::Stopped => Some(RunStatus::Stopped),
            K::Started | K::Restarted | K::Installed => Some(RunStatus::Running),
            K::PasswordSet
            | K::Upgraded
            | K::Provisioned
            | K::Degraded
            | K::Expired
            | K::Released
            | K::Purged => None,
        }
    }
}
