//! The one write path: validate an op against current state, journal it,
//! fold it into the query tables — one transaction, all or nothing.

use almanac_core::op::{Op, WriteContext};
use rusqlite::TransactionBehavior;

use crate::entities::{Mode, apply};
use crate::journal::{self, JournalEntry, Receipt};
use crate::{Result, Store};

impl Store {
    /// Records and applies one operation. On any error nothing is written.
    pub fn write(&self, ctx: &WriteContext, op: Op) -> Result<Receipt> {
        let mut entries = self.write_all(ctx, vec![op])?;
        Ok(entries.remove(0))
    }

    /// Records and applies several operations in one transaction.
    pub fn write_all(&self, ctx: &WriteContext, ops: Vec<Op>) -> Result<Vec<Receipt>> {
        self.write_in_mode(ctx, ops, Mode::Local)
    }

    /// Records history brought from another tracking store (an import),
    /// in one transaction. Checked as a client's request, except that a
    /// deleted experiment or run still takes it: the source held those
    /// runs, metrics and models inside a deleted experiment, and folding the
    /// journal accepts such ops anyway (`Mode::Replay`), so the projection
    /// stays the fold of the journal.
    pub fn write_imported(&self, ctx: &WriteContext, ops: Vec<Op>) -> Result<Vec<Receipt>> {
        self.write_in_mode(ctx, ops, Mode::Imported)
    }

    fn write_in_mode(&self, ctx: &WriteContext, ops: Vec<Op>, mode: Mode) -> Result<Vec<Receipt>> {
        let mut conn = self.write_conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut entries = Vec::with_capacity(ops.len());
        for op in &ops {
            let pinned = crate::entities::registry::pin_version(&tx, op)?;
            let op = pinned.as_ref().unwrap_or(op);
            let receipt = journal::append(&tx, ctx, op)?;
            apply(&tx, op, ctx.time_ms, mode, &receipt.op_id)?;
            entries.push(receipt);
        }
        tx.commit()?;
        Ok(entries)
    }

    /// Journal entries recorded after local sequence number `after`.
    pub fn journal_after(&self, after: i64, limit: i64) -> Result<Vec<JournalEntry>> {
        self.with_reader(|c| journal::read_after(c, after, limit))
    }
}
