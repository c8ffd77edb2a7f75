//! Instances, their stock units, and the idempotency record of
//! `agent_order_no`.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::domain::catalog::Product;
use crate::domain::state::{
    ActStatus, DegradeStatus, InstanceState, IpStatus, LockStatus, OrderStatus, PushStatus,
    RunStatus, UpgradeStatus,
};
use crate::domain::transition::TransitionKind;
use crate::seed::SeedInstance;

use super::{catalog, changes, network};

/// One bare-metal instance row.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    pub id: i64,
    pub guid: String,
    pub userid: String,
    pub product_guid: String,
    pub line_guid: String,
    pub system_guid: String,
    pub stock_id: Option<String>,
    pub cabinet_sn: String,
    pub name: String,
    pub client_user_id: String,
    pub client_order_no: String,
    pub agent_order_no: String,
    pub login_name: String,
    pub login_password: String,
    pub system_partition_size: String,
    pub buy_remarks: String,
    pub bandwidth: i64,
    pub defense: i64,
    pub ipnum: i64,
    pub buy_time: i64,
    pub start_time: i64,
    pub end_time: i64,
    pub order_status: OrderStatus,
    pub run_status: RunStatus,
    pub act_status: ActStatus,
    pub push_status: PushStatus,
    pub lock_status: LockStatus,
    pub install_mode: String,
    pub deleted_at: Option<i64>,
}

impl Instance {
    pub fn state(&self) -> InstanceState {
        InstanceState {
            order_status: self.order_status,
            run_status: self.run_status,
            act_status: self.act_status,
            push_status: self.push_status,
            lock_status: self.lock_status,
        }
    }

    pub fn set_state(&mut self, state: InstanceState) {
        self.order_status = state.order_status;
        self.run_status = state.run_status;
        self.act_status = state.act_status;
        self.push_status = state.push_status;
        self.lock_status = state.lock_status;
    }
}

/// State codes are stored as their document codes. A code outside
/// the document's set cannot be written (the control API checks forced
/// values) and reads back as an error, never as a guess.
macro_rules! stored_as_code {
    ($($status:ty),+) => {$(
        impl ToSql for $status {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.code()))
            }
        }

        impl FromSql for $status {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                let code = i64::column_result(value)?;
                <$status>::from_code(code).ok_or_else(|| {
                    let message = format!(
                        "{} {code} is not one of {:?}",
                        <$status>::FIELD,
                        <$status>::codes()
                    );
                    FromSqlError::Other(message.into())
                })
            }
        }
    )+};
}

stored_as_code!(
    OrderStatus,
    RunStatus,
    ActStatus,
    PushStatus,
    LockStatus,
    DegradeStatus,
    UpgradeStatus,
    IpStatus
);

const COLUMNS: &str = "id, guid, userid, product_guid, line_guid, system_guid, stock_id, cabinet_sn, name, \
    client_user_id, client_order_no, agent_order_no, login_name, login_password, system_partition_size, \
    buy_remarks, bandwidth, defense, ipnum, buy_time, start_time, end_time, order_status, run_status, \
    act_status, push_status, lock_status, install_mode, deleted_at";

fn from_row(r: &Row) -> rusqlite::Result<Instance> {
    Ok(Instance {
        id: r.get(0)?,
        guid: r.get(1)?,
        userid: r.get(2)?,
        product_guid: r.get(3)?,
        line_guid: r.get(4)?,
        system_guid: r.get(5)?,
        stock_id: r.get(6)?,
        cabinet_sn: r.get(7)?,
        name: r.get(8)?,
        client_user_id: r.get(9)?,
        client_order_no: r.get(10)?,
        agent_order_no: r.get(11)?,
        login_name: r.get(12)?,
        login_password: r.get(13)?,
        system_partition_size: r.get(14)?,
        buy_remarks: r.get(15)?,
        bandwidth: r.get(16)?,
        defense: r.get(17)?,
        ipnum: r.get(18)?,
        buy_time: r.get(19)?,
        start_time: r.get(20)?,
        end_time: r.get(21)?,
        order_status: r.get(22)?,
        run_status: r.get(23)?,
        act_status: r.get(24)?,
        push_status: r.get(25)?,
        lock_status: r.get(26)?,
        install_mode: r.get(27)?,
        deleted_at: r.get(28)?,
    })
}

/// Inserts a new instance; `id` 0 lets SQLite choose.
pub fn insert(conn: &Connection, i: &Instance) -> rusqlite::Result<i64> {
    conn.prepare_cached(&format!(
            "INSERT INTO instances ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, \
             ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29)"
        ))?.execute(
        params![
            if i.id > 0 { Some(i.id) } else { None },
            i.guid,
            i.userid,
            i.product_guid,
            i.line_guid,
            i.system_guid,
            i.stock_id,
            i.cabinet_sn,
            i.name,
            i.client_user_id,
            i.client_order_no,
            i.agent_order_no,
            i.login_name,
            i.login_password,
            i.system_partition_size,
            i.buy_remarks,
            i.bandwidth,
            i.defense,
            i.ipnum,
            i.buy_time,
            i.start_time,
            i.end_time,
            i.order_status,
            i.run_status,
            i.act_status,
            i.push_status,
            i.lock_status,
            i.install_mode,
            i.deleted_at,
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// An instance visible to `userid` (another member's instance is `None`,
/// exactly like one that never existed).
pub fn get_owned(
    conn: &Connection,
    guid: &str,
    userid: &str,
) -> rusqlite::Result<Option<Instance>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM instances WHERE guid = ?1 AND userid = ?2 AND hidden = 0"
    ))?;
    stmt.query_row(params![guid, userid], from_row).optional()
}

/// An instance whatever its owner (for transitions and the control API).
pub fn get(conn: &Connection, guid: &str) -> rusqlite::Result<Option<Instance>> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM instances WHERE guid = ?1"))?;
    stmt.query_row([guid], from_row).optional()
}

/// One page of a member's visible instances, newest first, and the total.
pub fn page(
    conn: &Connection,
    userid: &str,
    offset: i64,
    limit: i64,
) -> rusqlite::Result<(Vec<Instance>, i64)> {
    // Kept by triggers (store::derived), so the total costs no scan.
    let total: i64 = conn
        .prepare_cached("SELECT coalesce((SELECT n FROM visible_counts WHERE userid = ?1), 0)")?
        .query_row([userid], |r| r.get(0))?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM instances WHERE userid = ?1 AND hidden = 0 ORDER BY id DESC LIMIT ?2 OFFSET ?3"
    ))?;
    let rows = stmt.query_map(params![userid, limit, offset], from_row)?;
    let list = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((list, total))
}

/// Which instances the control API lists (`None` = any).
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub userid: Option<String>,
    pub order_status: Option<i64>,
    pub run_status: Option<i64>,
    pub act_status: Option<i64>,
}

/// Visible instances of every member, newest first, and how many match.
pub fn list_all(
    conn: &Connection,
    filter: &ListFilter,
    offset: i64,
    limit: i64,
) -> rusqlite::Result<(Vec<Instance>, i64)> {
    const WHERE: &str = "hidden = 0 AND (?1 IS NULL OR userid = ?1) \
        AND (?2 IS NULL OR order_status = ?2) AND (?3 IS NULL OR run_status = ?3) \
        AND (?4 IS NULL OR act_status = ?4)";
    let args = params![
        filter.userid,
        filter.order_status,
        filter.run_status,
        filter.act_status
    ];
    let total: i64 = conn
        .prepare_cached(&format!("SELECT count(*) FROM instances WHERE {WHERE}"))?
        .query_row(args, |r| r.get(0))?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM instances WHERE {WHERE} ORDER BY id DESC LIMIT ?5 OFFSET ?6"
    ))?;
    let rows = stmt.query_map(
        params![
            filter.userid,
            filter.order_status,
            filter.run_status,
            filter.act_status,
            limit,
            offset
        ],
        from_row,
    )?;
    let list = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((list, total))
}

/// Writes every mutable field of `i` back.
pub fn update(conn: &Connection, i: &Instance) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE instances SET system_guid = ?2, login_name = ?3, login_password = ?4, system_partition_size = ?5, \
         bandwidth = ?6, defense = ?7, ipnum = ?8, end_time = ?9, order_status = ?10, run_status = ?11, \
         act_status = ?12, push_status = ?13, lock_status = ?14, install_mode = ?15, deleted_at = ?16, \
         stock_id = ?17 WHERE guid = ?1")?.execute(
        params![
            i.guid,
            i.system_guid,
            i.login_name,
            i.login_password,
            i.system_partition_size,
            i.bandwidth,
            i.defense,
            i.ipnum,
            i.end_time,
            i.order_status,
            i.run_status,
            i.act_status,
            i.push_status,
            i.lock_status,
            i.install_mode,
            i.deleted_at,
            i.stock_id,
        ],
    )?;
    Ok(())
}

pub fn hide(conn: &Connection, guid: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE instances SET hidden = 1 WHERE guid = ?1")?
        .execute([guid])?;
    Ok(())
}

/// A free stock unit of a product: (id, cabinet_sn), lowest first.
pub fn free_stock(
    conn: &Connection,
    product_guid: &str,
    limit: i64,
) -> rusqlite::Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, cabinet_sn FROM stock WHERE product_guid = ?1 AND instance_guid IS NULL ORDER BY seq LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![product_guid, limit], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

pub fn hold_stock(conn: &Connection, stock_id: &str, guid: &str) -> rusqlite::Result<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE stock SET instance_guid = ?2 WHERE id = ?1 AND instance_guid IS NULL",
        )?
        .execute(params![stock_id, guid])?;
    Ok(n == 1)
}

pub fn release_stock(conn: &Connection, guid: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE stock SET instance_guid = NULL WHERE instance_guid = ?1")?
        .execute([guid])?;
    Ok(())
}

/// Counts of stock units per product: (total, free).
pub fn stock_counts(conn: &Connection, product_guid: &str) -> rusqlite::Result<(i64, i64)> {
    conn.prepare_cached("SELECT count(*), count(*) FILTER (WHERE instance_guid IS NULL) FROM stock WHERE product_guid = ?1")?.query_row(
        [product_guid],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// The stored response of an earlier request with this `agent_order_no`.
pub fn order_response(
    conn: &Connection,
    userid: &str,
    action: &str,
    agent_order_no: &str,
) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached(
        "SELECT response FROM orders WHERE userid = ?1 AND action = ?2 AND agent_order_no = ?3",
    )?
    .query_row(params![userid, action, agent_order_no], |r| r.get(0))
    .optional()
}

pub fn save_order(
    conn: &Connection,
    userid: &str,
    action: &str,
    agent_order_no: &str,
    response: &str,
) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT OR REPLACE INTO orders (userid, action, agent_order_no, response) VALUES (?1, ?2, ?3, ?4)")?.execute(
        params![userid, action, agent_order_no, response],
    )?;
    Ok(())
}

/// Every instance the database holds: every member, hidden ones included.
pub fn count_all(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT count(*) FROM instances", [], |r| r.get(0))
}

/// Moves the seeded instances of a copied seed image to the times a load at
/// `now` would have given them: [`insert_seeded`] anchors everything to
/// `now` (start a day before, upgrades an hour after start, expiry whole
/// months after start), so its times shift by `delta` and the end is
/// counted again in calendar months. A unit test compares the result with
/// a fresh load, table by table.
pub fn reanchor_seeded(
    conn: &Connection,
    seed: &crate::seed::Seed,
    now: i64,
    delta: i64,
    zone: chrono::FixedOffset,
) -> rusqlite::Result<()> {
    for s in &seed.instances {
        let start = now - 86_400;
        let end =
            crate::domain::months::add_months(start, s.months.max(1) as u32, zone).unwrap_or(start);
        conn.prepare_cached(
            "UPDATE instances SET buy_time = ?2, start_time = ?2, end_time = ?3 WHERE guid = ?1",
        )?
        .execute(params![s.guid, start, end])?;
        conn.prepare_cached(
            "UPDATE ips SET create_time = create_time + ?2 WHERE instance_guid = ?1",
        )?
        .execute(params![s.guid, delta])?;
        conn.prepare_cached(
            "UPDATE upgrades SET create_time = create_time + ?2 WHERE instance_guid = ?1",
        )?
        .execute(params![s.guid, delta])?;
        conn.prepare_cached("UPDATE transitions SET due = ?2 WHERE guid = ?1 AND kind = ?3")?
            .execute(params![s.guid, end, TransitionKind::Expired])?;
    }
    Ok(())
}

/// Inserts a seeded instance with its stock unit, primary IP and upgrades.
pub fn insert_seeded(
    conn: &Connection,
    s: &SeedInstance,
    now: i64,
    zone: chrono::FixedOffset,
) -> rusqlite::Result<()> {
    let Some((product, _)) = catalog::product(conn, &s.product_guid)? else {
        return Ok(());
    };
    let start = now - 86_400;
    let end =
        crate::domain::months::add_months(start, s.months.max(1) as u32, zone).unwrap_or(start);
    let inst = seeded_instance(conn, s, &product, start, end)?;
    insert(conn, &inst)?;
    let line_guid = &product.line_guid;
    hold_stock(conn, &s.stock_id, &s.guid)?;
    network::assign_seeded_ip(conn, line_guid, &s.guid, &s.primary_ip, start)?;
    for u in &s.upgrades {
        changes::insert_seeded_upgrade(conn, line_guid, &s.guid, u, start + 3600)?;
    }
    super::transitions::schedule(
        conn,
        &super::transitions::NewTransition {
            guid: &s.guid,
            kind: TransitionKind::Expired,
            due: end,
            taskid: None,
            action: "create",
            userid: &s.userid,
            reference: None,
            stalled_by: None,
        },
    )?;
    Ok(())
}

/// A seeded instance as stored: running since `start`, its product's name
/// and addresses plus its upgrades', its system's login name.
fn seeded_instance(
    conn: &Connection,
    s: &SeedInstance,
    product: &Product,
    start: i64,
    end: i64,
) -> rusqlite::Result<Instance> {
    let Product {
        line_guid, name, ..
    } = product.clone();
    let login_name = catalog::system(conn, &s.system_guid)?
        .map(|sys| sys.login_name)
        .unwrap_or_else(|| "root".to_string());
    let cabinet_sn: String = conn
        .query_row(
            "SELECT cabinet_sn FROM stock WHERE id = ?1",
            [&s.stock_id],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or_default();
    let upgraded_ips: i64 = s
        .upgrades
        .iter()
        .filter(|u| u.kind == "ipnum")
        .map(|u| u.nums)
        .sum();
    Ok(Instance {
        id: s.id,
        guid: s.guid.clone(),
        userid: s.userid.clone(),
        product_guid: s.product_guid.clone(),
        line_guid,
        system_guid: s.system_guid.clone(),
        stock_id: Some(s.stock_id.clone()),
        cabinet_sn,
        name: format!("API{name}"),
        client_user_id: s.client_user_id.clone(),
        client_order_no: String::new(),
        agent_order_no: String::new(),
        login_name,
        login_password: s.login_password.clone(),
        system_partition_size: "-1".to_string(),
        buy_remarks: String::new(),
        bandwidth: s.bandwidth,
        defense: s.defense,
        ipnum: product.ipnum + upgraded_ips,
        buy_time: start,
        start_time: start,
        end_time: end,
        order_status: InstanceState::RUNNING.order_status,
        run_status: InstanceState::RUNNING.run_status,
        act_status: InstanceState::RUNNING.act_status,
        push_status: InstanceState::RUNNING.push_status,
        lock_status: InstanceState::RUNNING.lock_status,
        install_mode: "1".to_string(),
        deleted_at: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::state::Status;

    /// Every value goes into SQLite as its code and comes back as itself.
    fn round_trips<
        T: Status + ToSql + FromSql + PartialEq + std::fmt::Debug + std::fmt::Display,
    >(
        conn: &Connection,
        all: &[T],
    ) {
        for v in all {
            let back: rusqlite::Result<(i64, T)> =
                conn.query_row("SELECT ?1, ?1", [v], |r| Ok((r.get(0)?, r.get(1)?)));
            // `Display` writes the code, as the wire does.
            let code: i64 = v.to_string().parse().unwrap_or(i64::MIN);
            assert_eq!(back.ok(), Some((code, *v)));
        }
    }

    #[test]
    fn statuses_are_stored_as_their_codes() {
        let Ok(conn) = Connection::open_in_memory() else {
            panic!("no in-memory database");
        };
        round_trips(&conn, OrderStatus::ALL);
        round_trips(&conn, RunStatus::ALL);
        round_trips(&conn, ActStatus::ALL);
        round_trips(&conn, PushStatus::ALL);
        round_trips(&conn, LockStatus::ALL);
        round_trips(&conn, DegradeStatus::ALL);
        round_trips(&conn, UpgradeStatus::ALL);
        round_trips(&conn, IpStatus::ALL);
        // A code outside the document's set is an error, not a guess.
        let bad: rusqlite::Result<OrderStatus> = conn.query_row("SELECT 2", [], |r| r.get(0));
        let message = bad.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains("order_status 2 is not one of [0, 1, 3, -2]"),
            "{message}"
        );
        let text: rusqlite::Result<ActStatus> = conn.query_row("SELECT 'x'", [], |r| r.get(0));
        assert!(text.is_err());
    }
}
