//! Catalog records (zones, lines, systems, harddisks, products), kept as the
//! engine's own JSON documents in seed order.

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

use crate::domain::catalog::{Doc, Line, Product, System};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Zone,
    Line,
    System,
    Harddisk,
    Product,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Zone => "zone",
            Kind::Line => "line",
            Kind::System => "system",
            Kind::Harddisk => "harddisk",
            Kind::Product => "product",
        }
    }
}

pub fn insert(conn: &Connection, kind: Kind, seq: i64, doc: &Doc) -> rusqlite::Result<()> {
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

/// Every record of a kind, in seed order.
pub fn list(conn: &Connection, kind: Kind) -> rusqlite::Result<Vec<Doc>> {
    let mut stmt = conn.prepare_cached("SELECT doc FROM catalog WHERE kind = ?1 ORDER BY seq")?;
    let rows = stmt.query_map([kind.as_str()], |r| r.get::<_, String>(0))?;
    rows.map(|r| r.map(parse)).collect()
}

/// One page of a kind and the total count.
pub fn page(
    conn: &Connection,
    kind: Kind,
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

pub fn get(conn: &Connection, kind: Kind, guid: &str) -> rusqlite::Result<Option<Doc>> {
    let mut stmt = conn.prepare_cached("SELECT doc FROM catalog WHERE kind = ?1 AND guid = ?2")?;
    stmt.query_row(params![kind.as_str(), guid], |r| r.get::<_, String>(0))
        .optional()
        .map(|o| o.map(parse))
}

pub fn line(conn: &Connection, guid: &str) -> rusqlite::Result<Option<Line>> {
    Ok(get(conn, Kind::Line, guid)?.map(|d| Line::from_doc(&d)))
}

pub fn product(conn: &Connection, guid: &str) -> rusqlite::Result<Option<(Product, Doc)>> {
    Ok(get(conn, Kind::Product, guid)?.map(|d| (Product::from_doc(&d), d)))
}

pub fn system(conn: &Connection, guid: &str) -> rusqlite::Result<Option<System>> {
    Ok(get(conn, Kind::System, guid)?.map(|d| System::from_doc(&d)))
}
