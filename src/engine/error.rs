//! `EngineError`: why an engine could not be built or could not do what a
//! control call asked, typed; its text is what a log or a control answer says.

/// An engine's own failure (never a refused `/api` call: that is a
/// [`Refusal`](crate::protocol::Refusal)).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A database read or write failed.
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
    /// The database (in memory or a `--db` file) could not be opened.
    #[error("cannot open database: {0}")]
    Open(#[source] rusqlite::Error),
    /// The seed could not be written into a fresh database.
    #[error("cannot load seed: {0}")]
    Seed(#[source] rusqlite::Error),
    /// Another engine's database image could not be copied in.
    #[error("cannot copy database: {0}")]
    Image(#[source] rusqlite::Error),
    /// `--timings` names a profile the seed's `timings.json` lacks.
    #[error("unknown timing profile {name:?}; timings.json has {known}")]
    UnknownTimings { name: String, known: String },
}
