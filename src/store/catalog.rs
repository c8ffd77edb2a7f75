//! Catalog records (zones, lines, systems, harddisks, products), kept as the
//! engine's own JSON documents in seed order.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

use crate::domain::catalog::{Doc, Line, Product, System};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogKind {
    Zone,
    Line,
    System,
    Harddisk,
    Product,
}

impl CatalogKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CatalogKind::Zone => "zone",
            CatalogKind::Line => "line",
            CatalogKind::System => "system",
            CatalogKind::Harddisk => "harddisk",
            CatalogKind::Product => "product",
        }
    }
}

pub fn insert(conn: &Connection, kind: CatalogKind, seq: i64, doc: &Doc) -> rusqlite::Result<()> {
    let guid = doc.get("guid").and_then(Value::as_str).unwrap_or_default();
    let text = serde_json::to_string(doc).unwrap_or_else(|_| "{}".to_string());
    conn.execute(
        "INSERT INTO catalog (kind, guid, seq, doc) VALUES (?1, ?2, ?3, ?4)",
        params![kind.as_str(), guid, seq, text],
    )?;
    Ok(())
}

fn parse(text: String) -> Doc {
    serde_json::from_str(&text).unwrap_or_default()
}

/// Most parsed documents remembered per thread before the memo starts over.
const MEMO_SIZE: usize = 512;

thread_local! {
    /// Parsed documents by their exact text. A pure memo: the same text
    /// always parses to the same document, so an entry can never be stale
    /// (a reset or restore that changes a record changes its text), and it
    /// holds no engine state. Parsing a record on every lookup was a fifth
    /// of `create` and of each `sync_baremetal` instance.
    static PARSED: RefCell<HashMap<Box<str>, Arc<Doc>>> = RefCell::new(HashMap::new());
}

fn parse_shared(text: String) -> Arc<Doc> {
    PARSED.with(|memo| {
        let mut memo = memo.borrow_mut();
        if let Some(doc) = memo.get(text.as_str()) {
            return doc.clone();
        }
        let doc: Arc<Doc> = Arc::new(serde_json::from_str(&text).unwrap_or_default());
        if memo.len() >= MEMO_SIZE {
            memo.clear();
        }
        memo.insert(text.into_boxed_str(), doc.clone());
        doc
    })
}

/// Every record of a kind, in seed order.
pub fn list(conn: &Connection, kind: CatalogKind) -> rusqlite::Result<Vec<Doc>> {
    let mut stmt = conn.prepare_cached("SELECT doc FROM catalog WHERE kind = ?1 ORDER BY seq")?;
    let rows = stmt.query_map([kind.as_str()], |r| r.get::<_, String>(0))?;
    rows.map(|r| r.map(parse)).collect()
}

/// One page of a kind and the total count.
pub fn page(
    conn: &Connection,
    kind: CatalogKind,
    offset: i64,
    limit: i64,
) -> rusqlite::Result<(Vec<Doc>, i64)> {
    let total: i64 = conn.query_row(
        "SELECT count(*) FROM catalog WHERE kind = ?1",
        [kind.as_str()],
        |r| r.get(0),
    )?;
    let mut stmt = conn.prepare_cached(
        "SELECT doc FROM catalog WHERE kind = ?1 ORDER BY seq LIMIT ?2 OFFSET ?3",
    )?;
    let rows = stmt.query_map(params![kind.as_str(), limit, offset], |r| {
        r.get::<_, String>(0)
    })?;
    let docs = rows
        .map(|r| r.map(parse))
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((docs, total))
}

/// One record, shared with every other lookup of the same text (see `PARSED`).
pub fn get_shared(
    conn: &Connection,
    kind: CatalogKind,
    guid: &str,
) -> rusqlite::Result<Option<Arc<Doc>>> {
    let mut stmt = conn.prepare_cached("SELECT doc FROM catalog WHERE kind = ?1 AND guid = ?2")?;
    stmt.query_row(params![kind.as_str(), guid], |r| r.get::<_, String>(0))
        .optional()
        .map(|o| o.map(parse_shared))
}

pub fn line(conn: &Connection, guid: &str) -> rusqlite::Result<Option<Line>> {
    Ok(get_shared(conn, CatalogKind::Line, guid)?.map(|d| Line::from_doc(&d)))
}

pub fn product(conn: &Connection, guid: &str) -> rusqlite::Result<Option<(Product, Arc<Doc>)>> {
    Ok(get_shared(conn, CatalogKind::Product, guid)?.map(|d| (Product::from_doc(&d), d)))
}

pub fn system(conn: &Connection, guid: &str) -> rusqlite::Result<Option<System>> {
    Ok(get_shared(conn, CatalogKind::System, guid)?.map(|d| System::from_doc(&d)))
}
