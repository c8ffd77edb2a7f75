//! Every `X-Mock-Error` reason, in one list. The wire name is the stable
//! contract (tests, scenarios and clients match on it); each is listed with
//! its meaning in docs/fidelity.md, "X-Mock-Error reasons", and a test here
//! checks that list against this one.
//!
//! A fault rule may name a reason of its own; that text is the tester's and
//! is not one of these (`injected_fault` is the default).

use serde::Serialize;

/// Declares the enum, its wire names and `ALL` from one list, so a variant
/// cannot be added without its name or left out of `ALL`.
macro_rules! reasons {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)*) => {
        /// A stable, machine-readable reason for a refusal.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Reason {
            $($(#[$doc])* $variant,)*
        }

        impl Reason {
            /// Every reason, in the order of the list.
            pub const ALL: &'static [Reason] = &[$(Reason::$variant,)*];

            /// The wire name, as the `X-Mock-Error` header carries it.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Reason::$variant => $name,)*
                }
            }
        }
    };
}

reasons! {
    // The transport and the body (`/api` and the control API).
    MethodNotAllowed = "method_not_allowed",
    BodyTooLarge = "body_too_large",
    TooManyFields = "too_many_fields",
    NestingTooDeep = "nesting_too_deep",
    ValueTooLong = "value_too_long",
    BadBody = "bad_body",
    UnsupportedContentType = "unsupported_content_type",
    NotFound = "not_found",
    InternalError = "internal_error",
    StorageFull = "storage_full",
    // Fields and authentication.
    MissingParam = "missing_param",
    BadParam = "bad_param",
    PasswordNotBase64 = "password_not_base64",
    UnknownUser = "unknown_user",
    KeyMismatch = "key_mismatch",
    SignInvalid = "sign_invalid",
    TimeSkew = "time_skew",
    UnknownModule = "unknown_module",
    UnknownAction = "unknown_action",
    // The catalog, as create, renew and install read it.
    LineNotFound = "line_not_found",
    LineHidden = "line_hidden",
    LineNotForSale = "line_not_for_sale",
    ProductNotFound = "product_not_found",
    ProductNotOnLine = "product_not_on_line",
    ProductDisabled = "product_disabled",
    SystemNotFound = "system_not_found",
    SystemNotBaremetal = "system_not_baremetal",
    SystemNotOnLine = "system_not_on_line",
    SystemNotForCreate = "system_not_for_create",
    SystemNotForInstall = "system_not_for_install",
    SystemCpuLimit = "system_cpu_limit",
    SystemRamLimit = "system_ram_limit",
    PartitionSizeInvalid = "partition_size_invalid",
    MonthsNotAllowed = "months_not_allowed",
    NumOutOfRange = "num_out_of_range",
    OutOfStock = "out_of_stock",
    RenewClosed = "renew_closed",
    TimeOutOfRange = "time_out_of_range",
    InstallModeUnsupported = "install_mode_unsupported",
    InstallTypeMismatch = "install_type_mismatch",
    // The state machine.
    OrderStatusForbids = "order_status_forbids",
    RunStatusForbids = "run_status_forbids",
    ActStatusForbids = "act_status_forbids",
    PushStatusForbids = "push_status_forbids",
    LockStatusForbids = "lock_status_forbids",
    // Upgrade and degrade.
    UpgradeEmpty = "upgrade_empty",
    DegradeEmpty = "degrade_empty",
    UpgradeClosed = "upgrade_closed",
    DefenseUpgradeClosed = "defense_upgrade_closed",
    BandwidthMaxExceeded = "bandwidth_max_exceeded",
    IpMaxExceeded = "ip_max_exceeded",
    DefenseMaxExceeded = "defense_max_exceeded",
    DefenseStep = "defense_step",
    IpnumNotAllowed = "ipnum_not_allowed",
    IpTypeNotAllowed = "ip_type_not_allowed",
    SubnetSize = "subnet_size",
    RatioViolation = "ratio_violation",
    IpPoolExhausted = "ip_pool_exhausted",
    DegradeExceedsUpgrade = "degrade_exceeds_upgrade",
    DegradeIpUnknown = "degrade_ip_unknown",
    DegradeClosed = "degrade_closed",
    DegradeDatePast = "degrade_date_past",
    DegradeDateAfterEnd = "degrade_date_after_end",
    DegradeNotFound = "degrade_not_found",
    DegradeNotPending = "degrade_not_pending",
    // Fault injection.
    InjectedFault = "injected_fault",
    // Namespaces (`/api` and the control API).
    BadNamespace = "bad_namespace",
    NamespaceLimit = "namespace_limit",
    NamespaceExists = "namespace_exists",
    UnknownNamespace = "unknown_namespace",
    NamespaceUnavailable = "namespace_unavailable",
    DefaultNamespace = "default_namespace",
    // The control API only.
    AdminLoopbackOnly = "admin_loopback_only",
    AdminTokenRequired = "admin_token_required",
    AmbiguousAuthorization = "ambiguous_authorization",
    UnknownControlCall = "unknown_control_call",
    BadJson = "bad_json",
    BadPath = "bad_path",
    BadQuery = "bad_query",
    BadSeconds = "bad_seconds",
    BadTime = "bad_time",
    ClockBackwards = "clock_backwards",
    ClockOutOfRange = "clock_out_of_range",
    BadUrl = "bad_url",
    BadFault = "bad_fault",
    UnknownFault = "unknown_fault",
    BadAction = "bad_action",
    BadSnapshotName = "bad_snapshot_name",
    UnknownSnapshot = "unknown_snapshot",
    UnknownInstance = "unknown_instance",
    UnknownField = "unknown_field",
    BadValue = "bad_value",
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Reading the tables of the docs, for the tests that check a closed list
/// of the code against the list the docs give.
#[cfg(test)]
pub(crate) mod doc_table {
    /// The rows of the first table under the heading line `heading`
    /// (`"### Timeline kinds"`), as trimmed cells, without the header row
    /// and the separator; the first cell loses its backticks.
    pub(crate) fn rows(doc: &str, heading: &str) -> Vec<Vec<String>> {
        let mut lines = doc.lines().skip_while(|l| l.trim() != heading).skip(1);
        let table = lines
            .by_ref()
            .take_while(|l| !l.starts_with('#'))
            .skip_while(|l| !l.trim_start().starts_with('|'))
            .take_while(|l| l.trim_start().starts_with('|'));
        table
            .skip(2)
            .map(|line| {
                let mut cells: Vec<String> = line
                    .trim()
                    .trim_matches('|')
                    .split('|')
                    .map(|c| c.trim().to_string())
                    .collect();
                if let Some(first) = cells.first_mut() {
                    *first = first.trim_matches('`').to_string();
                }
                cells
            })
            .collect()
    }

    /// The first column of [`rows`]: the names a list documents.
    pub(crate) fn names(doc: &str, heading: &str) -> Vec<String> {
        rows(doc, heading)
            .into_iter()
            .filter_map(|r| r.into_iter().next())
            .collect()
    }

    /// The backticked values of a cell: `` `0`, `1` `` is `["0", "1"]`.
    pub(crate) fn code_spans(cell: &str) -> Vec<String> {
        cell.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn a_table_is_read_under_its_heading_only() {
        let doc = "## A\n\n| x | y |\n| --- | --- |\n| `one` | `1`, `2` |\n\n### B\n\ntext\n\n| k | v |\n|---|---|\n| `two` | 2 |\n| three | 3 |\n\n## C\n| `no` | 0 |\n";
        assert_eq!(names(doc, "## A"), ["one"]);
        assert_eq!(names(doc, "### B"), ["two", "three"]);
        assert_eq!(code_spans(&rows(doc, "## A")[0][1]), ["1", "2"]);
        assert!(names(doc, "## Missing").is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// The section of docs/fidelity.md that lists the reasons.
    const DOCS: &str = include_str!("../../docs/fidelity.md");

    /// `reason → meaning` from the table rows (`| `name` | meaning |`) of
    /// the "X-Mock-Error reasons" section.
    fn documented() -> BTreeMap<String, String> {
        let section = DOCS
            .split("\n## ")
            .find(|s| s.starts_with("X-Mock-Error reasons"))
            .unwrap_or_default();
        let mut rows = BTreeMap::new();
        for line in section.lines() {
            let cells: Vec<&str> = line.trim().trim_matches('|').split('|').collect();
            let [name, meaning] = cells[..] else { continue };
            let Some(name) = name
                .trim()
                .strip_prefix('`')
                .and_then(|n| n.strip_suffix('`'))
            else {
                continue;
            };
            let previous = rows.insert(name.to_string(), meaning.trim().to_string());
            assert!(previous.is_none(), "{name} is listed twice");
        }
        rows
    }

    #[test]
    fn the_docs_list_every_reason_with_its_meaning_and_nothing_else() {
        let docs = documented();
        assert!(!docs.is_empty(), "docs/fidelity.md has no reason table");
        for reason in Reason::ALL {
            let meaning = docs.get(reason.as_str());
            assert!(
                meaning.is_some_and(|m| m.chars().count() >= 10),
                "docs/fidelity.md does not say what `{reason}` means"
            );
        }
        let known: Vec<&str> = Reason::ALL.iter().map(|r| r.as_str()).collect();
        for name in docs.keys() {
            assert!(
                known.contains(&name.as_str()),
                "docs/fidelity.md lists `{name}`, which the engine never sends"
            );
        }
    }

    #[test]
    fn wire_names_are_the_serde_names_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for reason in Reason::ALL {
            let serde_name = serde_json::to_value(reason).unwrap_or_default();
            assert_eq!(serde_name, reason.as_str(), "{reason:?}");
            assert!(seen.insert(reason.as_str()), "{reason} twice");
            let snake = reason
                .as_str()
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            assert!(snake, "{reason}");
        }
    }
}
