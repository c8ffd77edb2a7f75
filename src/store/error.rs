//! A database error as the engine's refusal: storage full (SQLite's
//! `SQLITE_FULL`) is its own reason, anything else is the mock's own
//! internal error. Here, not in `protocol/`, which knows no database.

use crate::protocol::{Reason, Refusal};

impl From<rusqlite::Error> for Refusal {
    fn from(err: rusqlite::Error) -> Refusal {
        match err.sqlite_error_code() {
            // An in-memory engine holds at most 1 GiB (SQLite's `memdb`
            // limit); a `--db` file, what its disk holds. The transaction
            // is rolled back, so nothing was half done.
            Some(rusqlite::ErrorCode::DiskFull) => {
                tracing::warn!(%err, "storage full");
                Refusal::new(
                    Reason::StorageFull,
                    "模拟引擎的存储已满：请重置引擎（POST /_mock/reset）或改用 --db 文件",
                )
            }
            _ => Refusal::internal(err),
        }
    }
}
