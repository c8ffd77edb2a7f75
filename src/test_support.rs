//! Internals that this repository's own test suites, benchmark and fuzz
//! targets reach into: not part of the library's API, hidden from its docs,
//! and free to change with any release. Library users need only
//! [`MockEngine`](crate::MockEngine), its builder, and the types those name.
//!
//! The paths mirror the crate's internal modules (`test_support::protocol::sign`
//! is `crate::protocol::sign`), so a test names the same module as the code.
//! [`fixtures`] is this repository's own: the seed's example GUIDs and the
//! create request every suite sends.

use std::sync::Arc;

pub mod fixtures;

pub use crate::engine::{Call, Engine, Settings};

/// The `default` namespace's engine of a running [`MockEngine`](crate::MockEngine),
/// for direct inspection of its database.
pub async fn default_engine(mock: &crate::MockEngine) -> Option<Arc<Engine>> {
    mock.engine().await
}

pub mod actions {
    pub use crate::actions::{Action, ActionName};
}

pub mod admin {
    pub use crate::admin::{admin_access, admin_allowed};
}

pub mod api {
    pub use crate::api::handle;

    pub mod decode {
        pub use crate::api::decode::{decode_body, decode_form, decode_json, split_php_key};
    }
}

pub mod protocol {
    pub use crate::protocol::{scalar_text, Limits, Params, Reason, Refusal, COMMON_FIELDS};

    pub mod mask {
        pub use crate::protocol::mask::{is_secret, Masked};
    }

    pub mod sign {
        pub use crate::protocol::sign::{md5_hex, sign, sign_matches};
    }
}

pub mod client {
    pub use crate::client::php_build_query;
}

pub mod domain {
    pub mod catalog {
        pub use crate::domain::catalog::Doc;
    }

    pub mod state {
        pub use crate::domain::state::InstanceState;
    }
}

pub mod engine {
    pub use crate::engine::{Call, Engine, Settings};
}

pub mod scenario {
    pub use crate::scenario::{run_file, run_paths, Options, ScenarioReport, Summary};
}

pub mod seed {
    pub use crate::seed::{PoolKind, Seed, SeedError};
}

pub mod store {
    pub mod instances {
        pub use crate::store::instances::{get, insert, stock_counts, Instance};
    }

    pub mod network {
        pub use crate::store::network::{insert_ip, pools, NewIp};
        pub use crate::store::test_support::double_held;
    }
}
