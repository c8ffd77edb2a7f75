//! Integrity checks for tests, the fuzz harness and the soak benchmark.
//! The engine never calls them: what they count must always be zero, and
//! the transaction per write and the unique index on live addresses keep it so.

use rusqlite::Connection;

use crate::domain::state::IpStatus;

/// Live addresses that two instances hold at once (should always be zero).
pub fn double_held(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT count(*) FROM (SELECT ip_int FROM ips WHERE status = ?1 GROUP BY ip_int HAVING count(*) > 1)")?.query_row(
        [IpStatus::Live],
        |r| r.get(0),
    )
}
