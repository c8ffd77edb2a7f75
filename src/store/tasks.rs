//! Pending transitions: stored rows (instance, kind, due time, originating
//! taskid), so that they survive a restart with `--db`.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{params, Connection, Row};

/// What happens when a transition falls due. The names double as the
/// callback `event` of the transitions that notify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
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

impl Kind {
    pub const ALL: [Kind; 11] = [
        Kind::Provisioned,
        Kind::Stopped,
        Kind::Started,
        Kind::Restarted,
        Kind::PasswordSet,
        Kind::Installed,
        Kind::Upgraded,
        Kind::Degraded,
        Kind::Expired,
        Kind::Released,
        Kind::Purged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Provisioned => "provisioned",
            Kind::Stopped => "stopped",
            Kind::Started => "started",
            Kind::Restarted => "restarted",
            Kind::PasswordSet => "password_set",
            Kind::Installed => "installed",
            Kind::Upgraded => "upgraded",
            Kind::Degraded => "degraded",
            Kind::Expired => "expired",
            Kind::Released => "released",
            Kind::Purged => "purged",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// What the transition did, in the engine's words and in English (the
    /// dashboard shows both; it has no copy of them).
    pub fn words(self) -> (&'static str, &'static str) {
        match self {
            Kind::Provisioned => ("开通完成", "provisioned"),
            Kind::Stopped => ("已关机", "stopped"),
            Kind::Started => ("已开机", "started"),
            Kind::Restarted => ("已重启", "restarted"),
            Kind::PasswordSet => ("密码已重设", "password set"),
            Kind::Installed => ("重装完成", "installed"),
            Kind::Upgraded => ("升级完成", "upgraded"),
            Kind::Degraded => ("降配生效", "degraded"),
            Kind::Expired => ("已过期", "expired"),
            Kind::Released => ("已释放", "released"),
            Kind::Purged => ("已清除", "purged"),
        }
    }
}

/// Stored by name. A name the engine does not know (a `--db` file from
/// another version) reads as an error, never as some other kind.
impl ToSql for Kind {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for Kind {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        Kind::parse(text)
            .ok_or_else(|| FromSqlError::Other(format!("unknown transition kind {text:?}").into()))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub id: i64,
    pub guid: String,
    pub kind: Kind,
    pub due: i64,
    pub taskid: Option<String>,
    pub action: String,
    pub userid: String,
    /// The degrade GUID for `degraded`.
    pub reference: Option<String>,
    /// The fault rule that holds it back ("accepted but stalls").
    pub stalled_by: Option<i64>,
}

pub struct NewTransition<'a> {
    pub guid: &'a str,
    pub kind: Kind,
    pub due: i64,
    pub taskid: Option<&'a str>,
    pub action: &'a str,
    pub userid: &'a str,
    pub reference: Option<&'a str>,
    pub stalled_by: Option<i64>,
}

fn from_row(r: &Row) -> rusqlite::Result<Transition> {
    Ok(Transition {
        id: r.get(0)?,
        guid: r.get(1)?,
        kind: r.get(2)?,
        due: r.get(3)?,
        taskid: r.get(4)?,
        action: r.get(5)?,
        userid: r.get(6)?,
        reference: r.get(7)?,
        stalled_by: r.get(8)?,
    })
}

const COLUMNS: &str = "id, guid, kind, due, taskid, action, userid, ref, stalled_by";

pub fn schedule(conn: &Connection, t: &NewTransition) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "INSERT INTO transitions (guid, kind, due, taskid, action, userid, ref, stalled_by) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        t.guid,
        t.kind,
        t.due,
        t.taskid,
        t.action,
        t.userid,
        t.reference,
        t.stalled_by
    ])?;
    Ok(conn.last_insert_rowid())
}

/// The soonest transition due at or before `now` that no live fault holds back.
pub fn next_due(
    conn: &Connection,
    now: i64,
    stalling: &[i64],
) -> rusqlite::Result<Option<Transition>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM transitions WHERE due <= ?1 ORDER BY due, id LIMIT 64"
    ))?;
    let rows = stmt.query_map([now], from_row)?;
    for row in rows {
        let t = row?;
        match t.stalled_by {
            Some(rule) if stalling.contains(&rule) => continue,
            _ => return Ok(Some(t)),
        }
    }
    Ok(None)
}

/// When the earliest transition that can run is due (stalled ones wait
/// for their fault rule's deletion and are skipped), for the scheduler.
pub fn next_wake(conn: &Connection, stalling: &[i64]) -> rusqlite::Result<Option<i64>> {
    let mut stmt =
        conn.prepare_cached("SELECT due, stalled_by FROM transitions ORDER BY due, id")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let stalled_by: Option<i64> = row.get(1)?;
        match stalled_by {
            Some(rule) if stalling.contains(&rule) => continue,
            _ => return Ok(Some(row.get(0)?)),
        }
    }
    Ok(None)
}

/// Whether any transition (stalled or not) is due by `now`.
pub fn any_due(conn: &Connection, now: i64) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM transitions WHERE due <= ?1)")?
        .query_row([now], |r| r.get(0))
}

pub fn remove(conn: &Connection, id: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM transitions WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

/// Drops pending transitions of an instance of the given kinds.
pub fn cancel(conn: &Connection, guid: &str, kinds: &[Kind]) -> rusqlite::Result<()> {
    for kind in kinds {
        conn.prepare_cached("DELETE FROM transitions WHERE guid = ?1 AND kind = ?2")?
            .execute(params![guid, kind])?;
    }
    Ok(())
}

pub fn cancel_reference(conn: &Connection, reference: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM transitions WHERE ref = ?1")?
        .execute([reference])?;
    Ok(())
}

/// Every pending transition, soonest first.
pub fn pending(conn: &Connection) -> rusqlite::Result<Vec<Transition>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM transitions ORDER BY due, id"
    ))?;
    let rows = stmt.query_map([], from_row)?;
    rows.collect()
}

/// The pending transitions of one instance, soonest first.
pub fn pending_of(conn: &Connection, guid: &str) -> rusqlite::Result<Vec<Transition>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM transitions WHERE guid = ?1 ORDER BY due, id"
    ))?;
    let rows = stmt.query_map([guid], from_row)?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_stored_by_name_and_an_unknown_name_is_an_error() {
        let Ok(conn) = Connection::open_in_memory() else {
            panic!("no in-memory database");
        };
        for kind in Kind::ALL {
            let back: rusqlite::Result<(String, Kind)> =
                conn.query_row("SELECT ?1, ?1", [kind], |r| Ok((r.get(0)?, r.get(1)?)));
            assert_eq!(back.ok(), Some((kind.as_str().to_string(), kind)));
        }
        let unknown: rusqlite::Result<Kind> = conn.query_row("SELECT 'rebooted'", [], |r| r.get(0));
        let message = unknown.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains("unknown transition kind \"rebooted\""),
            "{message}"
        );
    }

    #[test]
    fn the_contract_lists_every_timeline_kind_and_nothing_else() {
        let documented = crate::protocol::reason::doc_table::names(
            include_str!("../../docs/contract.md"),
            "### Timeline kinds",
        );
        let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(documented, kinds, "docs/contract.md, Timeline kinds");
    }
}
