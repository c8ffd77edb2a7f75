//! An engine's whole state as a value: back to the seed (`reset`), named
//! snapshots taken, listed, restored and deleted (SQLite's backup API),
//! the database as an image for a fork, and its footprint for listings.

use std::time::Duration;

use crate::protocol::control::SnapshotInfo;
use rusqlite::Connection;

use super::{Engine, EngineError};
use crate::clock::ClockState;
use crate::store::{self, instances};

/// A copy of the engine's database, clock included.
pub(super) struct Snapshot {
    conn: Connection,
    taken_at: String,
}

/// Copies the whole database `from` into `to`.
fn copy_database(from: &Connection, to: &mut Connection) -> rusqlite::Result<()> {
    let backup = rusqlite::backup::Backup::new(from, to)?;
    backup.run_to_completion(i32::MAX, Duration::ZERO, None)
}

impl Engine {
    /// Back to the seed state: empty journal and callback log, no faults,
    /// clock back to real time. Snapshots are kept.
    pub fn reset(&self) -> Result<(), EngineError> {
        self.store.write(|tx| -> rusqlite::Result<()> {
            // Under the connection lock, as in a restore: the runner
            // sees the old state with the old clock or the new with the new.
            self.clock.reset();
            store::load_seed(tx, &self.seed, self.clock.now(), self.clock.zone())?;
            store::save_clock(tx, self.clock.state())
        })?;
        self.rendered.clear();
        self.journal.clear();
        self.faults.clear();
        self.callbacks.clear();
        self.reschedule();
        Ok(())
    }

    /// Copies the whole state (database, clock, pending transitions) under `name`.
    pub fn take_snapshot(&self, name: &str) -> Result<SnapshotInfo, EngineError> {
        let mut copy = Connection::open_in_memory()?;
        {
            let conn = self.store.lock();
            // The clock is saved and copied with the database under one
            // hold of the lock, so the copy pairs them as they were.
            store::save_clock(&conn, self.clock.state())?;
            copy_database(&conn, &mut copy)?;
        }
        let taken_at = self.clock.format(self.clock.now());
        let info = SnapshotInfo {
            name: name.to_string(),
            taken_at: taken_at.clone(),
        };
        self.snapshots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                name.to_string(),
                Snapshot {
                    conn: copy,
                    taken_at,
                },
            );
        Ok(info)
    }

    pub fn snapshots(&self) -> Vec<SnapshotInfo> {
        self.snapshots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(name, s)| SnapshotInfo {
                name: name.clone(),
                taken_at: s.taken_at.clone(),
            })
            .collect()
    }

    /// Restores a snapshot atomically; `Ok(false)` when there is none by that name.
    ///
    /// The database and the clock are replaced under one hold of the
    /// connection lock, which the transition runner also holds while it
    /// reads the clock and applies a transition: the runner sees either the
    /// state before the restore or the one after, never the restored
    /// database with the clock from before it.
    pub fn restore_snapshot(&self, name: &str) -> Result<bool, EngineError> {
        let snapshots = self.snapshots.lock().unwrap_or_else(|p| p.into_inner());
        let Some(snap) = snapshots.get(name) else {
            return Ok(false);
        };
        {
            let mut conn = self.store.lock();
            copy_database(&snap.conn, &mut conn)?;
            let state: ClockState = store::load_clock(&conn)?;
            self.clock.restore(state);
        }
        self.rendered.clear();
        drop(snapshots);
        self.reschedule();
        Ok(true)
    }

    /// The whole database, clock included, as an image for a fork.
    pub fn image(&self) -> Result<Vec<u8>, EngineError> {
        self.save_clock();
        Ok(self.store.image()?)
    }

    /// A snapshot's database as an image for a fork; `None` when there is
    /// no snapshot by that name.
    pub fn snapshot_image(&self, name: &str) -> Result<Option<Vec<u8>>, EngineError> {
        let snapshots = self.snapshots.lock().unwrap_or_else(|p| p.into_inner());
        let Some(snap) = snapshots.get(name) else {
            return Ok(None);
        };
        let data = snap.conn.serialize(rusqlite::MAIN_DB)?;
        Ok(Some(data.to_vec()))
    }

    /// Instances held (every member, deleted included) and approximate
    /// bytes (database and journal), for the namespace listing.
    pub fn footprint(&self) -> (i64, u64) {
        let instances = instances::count_all(&self.store.lock()).unwrap_or(0);
        let bytes = self.store.size().unwrap_or(0) + self.journal.approximate_bytes();
        (instances, bytes)
    }

    pub fn delete_snapshot(&self, name: &str) -> bool {
        self.snapshots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name)
            .is_some()
    }
}
