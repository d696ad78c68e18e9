//! The model registry's tables: folding registry ops in, and reading them out.

use almanac_core::Error;
use almanac_core::model::{ModelVersion, PROMPT_TAG, RegisteredModel, Tag};
use almanac_core::op::Op;
use almanac_core::search::{Attribute, CompareOp, Filter, Key, Literal};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::entities::Mode;
use crate::search_sql::{Sql, compare, join_with, keyed};
use crate::{Result, Store};

/// Every registry table keyed by the registered model's name.
const NAME_KEYED_TABLES: [&str; 5] =
    ["registered_models", "registered_model_tags", "registered_model_aliases", "model_versions", "model_version_tags"];

fn model_exists(conn: &Connection, name: &str) -> Result<()> {
    let found = conn
        .prepare_cached("SELECT 1 FROM registered_models WHERE name = ?1")?
        .query_row([name], |_| Ok(()))
        .optional()?;
    found.ok_or_else(|| Error::not_found(format!("Registered Model with name={name} not found")).into())
}

fn version_exists(conn: &Connection, name: &str, version: i64) -> Result<()> {
    let found = conn
        .prepare_cached("SELECT 1 FROM model_versions WHERE name = ?1 AND version = ?2 AND deleted = 0")?
        .query_row(params![name, version], |_| Ok(()))
        .optional()?;
    found.ok_or_else(|| Error::not_found(format!("Model Version (name={name}, version={version}) not found")).into())
}

fn touch_model(conn: &Connection, name: &str, time_ms: i64) -> Result<()> {
    conn.prepare_cached("UPDATE registered_models SET last_update_time = ?2 WHERE name = ?1")?
        .execute(params![name, time_ms])?;
    Ok(())
}

fn set_model_tag(conn: &Connection, name: &str, tag: &Tag) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO registered_model_tags(name, key, value, seq)
         VALUES (?1, ?2, ?3, (SELECT coalesce(max(seq), 0) + 1 FROM registered_model_tags WHERE name = ?1))
         ON CONFLICT(name, key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![name, tag.key, tag.value])?;
    Ok(())
}

fn set_version_tag(conn: &Connection, name: &str, version: i64, tag: &Tag) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO model_version_tags(name, version, key, value, seq)
         VALUES (?1, ?2, ?3, ?4,
                 (SELECT coalesce(max(seq), 0) + 1 FROM model_version_tags WHERE name = ?1 AND version = ?2))
         ON CONFLICT(name, version, key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![name, version, tag.key, tag.value])?;
    Ok(())
}

/// The (name, version) slot of an op that refers to a model version, and
/// the creation it refers to, if known.
fn version_ref(op: &mut Op) -> Option<(&mut String, &mut i64, &mut Option<String>)> {
    match op {
        Op::SetRegisteredModelAlias { name, version, version_op, .. }
        | Op::UpdateModelVersion { name, version, version_op, .. }
        | Op::TransitionModelVersionStage { name, version, version_op, .. }
        | Op::DeleteModelVersion { name, version, version_op, .. }
        | Op::SetModelVersionTag { name, version, version_op, .. }
        | Op::DeleteModelVersionTag { name, version, version_op, .. } => Some((name, version, version_op)),
        _ => None,
    }
}

/// `op` naming the creation of the version it refers to, so that when a
/// sync renumbers that version the op still reaches it. `None` when there
/// is nothing to add.
pub(crate) fn pin_version(conn: &Connection, op: &Op) -> Result<Option<Op>> {
    let mut pinned = op.clone();
    let Some((name, version, version_op)) = version_ref(&mut pinned) else { return Ok(None) };
    if version_op.is_some() {
        return Ok(None);
    }
    let create_op: Option<String> = conn
        .prepare_cached("SELECT create_op FROM model_versions WHERE name = ?1 AND version = ?2")?
        .query_row(params![&**name, *version], |r| r.get(0))
        .optional()?
        .flatten();
    if create_op.is_none() {
        return Ok(None);
    }
    *version_op = create_op;
    Ok(Some(pinned))
}

/// `op` pointed at where the version it names sits now, if a sync moved it.
fn follow_version(conn: &Connection, op: &Op) -> Result<Option<Op>> {
    let mut moved = op.clone();
    let Some((name, version, Some(version_op))) = version_ref(&mut moved) else { return Ok(None) };
    let now: Option<(String, i64)> = conn
        .prepare_cached("SELECT name, version FROM model_versions WHERE create_op = ?1")?
        .query_row([&*version_op], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match now {
        Some((n, v)) if (&n, v) != (name, *version) => {
            *name = n;
            *version = v;
            Ok(Some(moved))
        }
        _ => Ok(None),
    }
}

/// Before a full fold: decides every model version's number from the order
/// its creation reached a remote (then Lamport time, writer, op id), so a
/// number another replica already saw through sync never changes. The plan
/// goes into a temporary table the fold reads.
pub(crate) fn plan_version_numbers(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS planned_versions(op_id TEXT PRIMARY KEY, number INTEGER NOT NULL);
         DELETE FROM planned_versions;",
    )?;
    let mut stmt = conn.prepare(
        "SELECT j.op_id, j.payload FROM journal j LEFT JOIN version_claims c ON c.op_id = j.op_id
         WHERE j.kind = 'create_model_version'
         ORDER BY c.position IS NULL, c.position, j.lamport, j.writer, j.op_id",
    )?;
    let mut claims = Vec::new();
    for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
        let (op_id, payload) = row?;
        if let Ok(Op::CreateModelVersion { name, version, .. }) = serde_json::from_str::<Op>(&payload) {
            claims.push((op_id, name, version));
        }
    }
    let numbers = almanac_core::registry::assign_version_numbers(claims.iter().map(|(_, n, v)| (n.as_str(), *v)));
    let mut insert = conn.prepare_cached("INSERT INTO planned_versions(op_id, number) VALUES (?1, ?2)")?;
    for ((op_id, _, _), number) in claims.iter().zip(numbers) {
        insert.execute(params![op_id, number])?;
    }
    Ok(())
}

pub(crate) fn apply(conn: &Connection, op: &Op, time_ms: i64, mode: Mode, op_id: &str) -> Result<()> {
    let followed = match mode {
        Mode::Replay => follow_version(conn, op)?,
        Mode::Local | Mode::Imported => None,
    };
    let op = followed.as_ref().unwrap_or(op);
    match op {
        Op::CreateRegisteredModel { name, creation_time, description, tags } => {
            if model_exists(conn, name).is_ok() {
                return Err(Error::already_exists(format!("Registered Model (name={name}) already exists.")).into());
            }
            conn.prepare_cached(
                "INSERT INTO registered_models(name, creation_time, last_update_time, description) VALUES (?1, ?2, ?2, ?3)",
            )?
            .execute(params![name, creation_time, description])?;
            for t in tags {
                set_model_tag(conn, name, t)?;
            }
        }
        Op::RenameRegisteredModel { name, new_name } => {
            model_exists(conn, name)?;
            if model_exists(conn, new_name).is_ok() {
                return Err(Error::already_exists(format!("Registered Model (name={new_name}) already exists.")).into());
            }
            for table in NAME_KEYED_TABLES {
                conn.execute(&format!("UPDATE {table} SET name = ?2 WHERE name = ?1"), params![name, new_name])?;
            }
            conn.prepare_cached("UPDATE model_versions SET last_update_time = ?2 WHERE name = ?1")?
                .execute(params![new_name, time_ms])?;
            touch_model(conn, new_name, time_ms)?;
        }
        Op::UpdateRegisteredModel { name, description } => {
            model_exists(conn, name)?;
            conn.prepare_cached(
                "UPDATE registered_models SET description = ?2, last_update_time = ?3 WHERE name = ?1",
            )?
            .execute(params![name, description, time_ms])?;
        }
        Op::DeleteRegisteredModel { name } => {
            model_exists(conn, name)?;
            for table in NAME_KEYED_TABLES {
                conn.execute(&format!("DELETE FROM {table} WHERE name = ?1"), [name])?;
            }
        }
        Op::SetRegisteredModelTag { name, tag } => {
            model_exists(conn, name)?;
            set_model_tag(conn, name, tag)?;
        }
        Op::DeleteRegisteredModelTag { name, key } => {
            model_exists(conn, name)?;
            conn.prepare_cached("DELETE FROM registered_model_tags WHERE name = ?1 AND key = ?2")?
                .execute(params![name, key])?;
        }
        Op::SetRegisteredModelAlias { name, alias, version, .. } => {
            model_exists(conn, name)?;
            version_exists(conn, name, *version)?;
            conn.prepare_cached(
                "INSERT INTO registered_model_aliases(name, alias, version) VALUES (?1, ?2, ?3)
                 ON CONFLICT(name, alias) DO UPDATE SET version = excluded.version",
            )?
            .execute(params![name, alias, version])?;
        }
        Op::DeleteRegisteredModelAlias { name, alias } => {
            model_exists(conn, name)?;
            conn.prepare_cached("DELETE FROM registered_model_aliases WHERE name = ?1 AND alias = ?2")?
                .execute(params![name, alias])?;
        }
        Op::CreateModelVersion {
            name,
            version,
            creation_time,
            source,
            storage_location,
            run_id,
            run_link,
            description,
            model_id,
            tags,
        } => {
            model_exists(conn, name)?;
            let planned: Option<i64> = match mode {
                Mode::Replay => conn
                    .prepare_cached("SELECT number FROM temp.planned_versions WHERE op_id = ?1")?
                    .query_row([op_id], |r| r.get(0))
                    .optional()?,
                Mode::Local | Mode::Imported => None,
            };
            let wanted = planned.unwrap_or(*version);
            let taken = conn
                .prepare_cached("SELECT 1 FROM model_versions WHERE name = ?1 AND version = ?2")?
                .query_row(params![name, wanted], |_| Ok(()))
                .optional()?;
            let version = &match (taken.is_some(), mode) {
                (false, _) => wanted,
                // Only when the plan could not hold (a rename merged
                // version lists): the next free number.
                (true, Mode::Replay) => conn
                    .prepare_cached("SELECT coalesce(max(version), 0) + 1 FROM model_versions WHERE name = ?1")?
                    .query_row([name], |r| r.get::<_, i64>(0))?,
                (true, Mode::Local | Mode::Imported) => {
                    return Err(Error::already_exists(format!(
                        "Model Version (name={name}, version={version}) already exists."
                    ))
                    .into());
                }
            };
            conn.prepare_cached(
                "INSERT INTO model_versions(name, version, creation_time, last_update_time, description, current_stage,
                     source, storage_location, run_id, run_link, model_id, create_op)
                 VALUES (?1, ?2, ?3, ?3, ?4, 'None', ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                name,
                version,
                creation_time,
                description,
                source,
                storage_location,
                run_id,
                run_link,
                model_id,
                op_id
            ])?;
            for t in tags {
                set_version_tag(conn, name, *version, t)?;
            }
            touch_model(conn, name, *creation_time)?;
        }
        Op::UpdateModelVersion { name, version, description, .. } => {
            version_exists(conn, name, *version)?;
            conn.prepare_cached(
                "UPDATE model_versions SET description = ?3, last_update_time = ?4 WHERE name = ?1 AND version = ?2",
            )?
            .execute(params![name, version, description, time_ms])?;
        }
        Op::TransitionModelVersionStage { name, version, stage, archive_existing_versions, .. } => {
            version_exists(conn, name, *version)?;
            if *archive_existing_versions {
                conn.prepare_cached(
                    "UPDATE model_versions SET current_stage = 'Archived', last_update_time = ?4
                     WHERE name = ?1 AND version != ?2 AND current_stage = ?3 AND deleted = 0",
                )?
                .execute(params![name, version, stage, time_ms])?;
            }
            conn.prepare_cached(
                "UPDATE model_versions SET current_stage = ?3, last_update_time = ?4 WHERE name = ?1 AND version = ?2",
            )?
            .execute(params![name, version, stage, time_ms])?;
            touch_model(conn, name, time_ms)?;
        }
        Op::DeleteModelVersion { name, version, .. } => {
            version_exists(conn, name, *version)?;
            // A soft delete, as in MLflow: the number is never reused.
            conn.prepare_cached(
                "UPDATE model_versions SET deleted = 1, current_stage = 'Deleted_Internal', last_update_time = ?3
                 WHERE name = ?1 AND version = ?2",
            )?
            .execute(params![name, version, time_ms])?;
            conn.prepare_cached("DELETE FROM registered_model_aliases WHERE name = ?1 AND version = ?2")?
                .execute(params![name, version])?;
            touch_model(conn, name, time_ms)?;
        }
        Op::SetModelVersionTag { name, version, tag, .. } => {
            version_exists(conn, name, *version)?;
            set_version_tag(conn, name, *version, tag)?;
        }
        Op::DeleteModelVersionTag { name, version, key, .. } => {
            version_exists(conn, name, *version)?;
            conn.prepare_cached("DELETE FROM model_version_tags WHERE name = ?1 AND version = ?2 AND key = ?3")?
                .execute(params![name, version, key])?;
        }
        _ => {}
    }
    Ok(())
}

/// A registry search, already parsed. `include_prompts` admits prompts
/// (registered models tagged `mlflow.prompt.is_prompt = 'true'`), which
/// plain searches hide, as in MLflow.
#[derive(Debug, Clone, Default)]
pub struct RegistryQuery {
    pub filter: Option<Filter>,
    /// (key, ascending): `name`, `last_updated_timestamp`, `version_number`.
    pub order_by: Vec<(String, bool)>,
    pub include_prompts: bool,
    pub limit: i64,
    pub offset: i64,
}

const VERSION_COLUMNS: &str = "name, version, creation_time, last_update_time, description, current_stage, source,
    storage_location, run_id, run_link, model_id";

fn version_from_row(r: &Row) -> rusqlite::Result<ModelVersion> {
    Ok(ModelVersion {
        name: r.get(0)?,
        version: r.get(1)?,
        creation_timestamp: r.get(2)?,
        last_updated_timestamp: r.get(3)?,
        description: r.get(4)?,
        current_stage: r.get(5)?,
        source: r.get(6)?,
        storage_location: r.get(7)?,
        run_id: r.get(8)?,
        run_link: r.get(9)?,
        model_id: r.get(10)?,
        tags: Vec::new(),
        aliases: Vec::new(),
    })
}

fn version_tags(c: &Connection, name: &str, version: i64) -> Result<Vec<Tag>> {
    let mut stmt =
        c.prepare_cached("SELECT key, value FROM model_version_tags WHERE name = ?1 AND version = ?2 ORDER BY seq")?;
    let tags = stmt.query_map(params![name, version], |r| Ok(Tag { key: r.get(0)?, value: r.get(1)? }))?;
    Ok(tags.collect::<rusqlite::Result<_>>()?)
}

fn load_version(c: &Connection, name: &str, version: i64, with_aliases: bool) -> Result<Option<ModelVersion>> {
    let found = c
        .prepare_cached(&format!(
            "SELECT {VERSION_COLUMNS} FROM model_versions WHERE name = ?1 AND version = ?2 AND deleted = 0"
        ))?
        .query_row(params![name, version], version_from_row)
        .optional()?;
    let Some(mut v) = found else { return Ok(None) };
    v.tags = version_tags(c, name, version)?;
    if with_aliases {
        let mut stmt = c.prepare_cached(
            "SELECT alias FROM registered_model_aliases WHERE name = ?1 AND version = ?2 ORDER BY alias",
        )?;
        v.aliases = stmt.query_map(params![name, version], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    }
    Ok(Some(v))
}

fn load_model(c: &Connection, name: &str) -> Result<Option<RegisteredModel>> {
    let found = c
        .prepare_cached(
            "SELECT name, creation_time, last_update_time, description FROM registered_models WHERE name = ?1",
        )?
        .query_row([name], |r| {
            Ok(RegisteredModel {
                name: r.get(0)?,
                creation_timestamp: r.get(1)?,
                last_updated_timestamp: r.get(2)?,
                description: r.get(3)?,
                tags: Vec::new(),
                aliases: Vec::new(),
                latest_versions: Vec::new(),
            })
        })
        .optional()?;
    let Some(mut m) = found else { return Ok(None) };
    let mut stmt = c.prepare_cached("SELECT key, value FROM registered_model_tags WHERE name = ?1 ORDER BY seq")?;
    m.tags =
        stmt.query_map([name], |r| Ok(Tag { key: r.get(0)?, value: r.get(1)? }))?.collect::<rusqlite::Result<_>>()?;
    let mut stmt =
        c.prepare_cached("SELECT alias, version FROM registered_model_aliases WHERE name = ?1 ORDER BY alias")?;
    m.aliases = stmt.query_map([name], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?;
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {VERSION_COLUMNS} FROM model_versions v WHERE name = ?1 AND deleted = 0 AND version =
             (SELECT max(version) FROM model_versions w WHERE w.name = v.name AND w.current_stage = v.current_stage AND w.deleted = 0)
         ORDER BY version"
    ))?;
    let mut latest: Vec<ModelVersion> = stmt.query_map([name], version_from_row)?.collect::<rusqlite::Result<_>>()?;
    for v in &mut latest {
        v.tags = version_tags(c, &v.name, v.version)?;
    }
    m.latest_versions = latest;
    Ok(Some(m))
}

fn prompt_exclusion(column: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM registered_model_tags p WHERE p.name = {column} AND p.key = '{PROMPT_TAG}' AND p.value = 'true')"
    )
}

fn registry_filter(f: &Filter, sql: &mut Sql, versions: bool) -> String {
    let each: fn(&Filter, &mut Sql) -> String =
        if versions { |f, sql| registry_filter(f, sql, true) } else { |f, sql| registry_filter(f, sql, false) };
    match f {
        Filter::And(parts) => join_with(parts, " AND ", sql, each),
        Filter::Or(parts) => join_with(parts, " OR ", sql, each),
        Filter::Compare(c) => match (&c.key, versions) {
            (Key::Tag(name), false) => keyed("registered_model_tags", "name", "m.name", name, c, sql),
            (Key::Tag(name), true) => {
                // Version tags are keyed by (name, version): spell the lookup out.
                let key = sql.bind(name.clone());
                let lookup = format!(
                    "SELECT 1 FROM model_version_tags k WHERE k.name = m.name AND k.version = m.version AND k.key = {key}"
                );
                match c.op {
                    CompareOp::IsNull => format!("NOT EXISTS ({lookup})"),
                    CompareOp::IsNotNull => format!("EXISTS ({lookup})"),
                    op => format!("EXISTS ({lookup} AND {})", compare("k.value", op, &c.value, sql)),
                }
            }
            (Key::Attribute(a), _) => {
                let column = match a {
                    Attribute::Name => "m.name",
                    Attribute::VersionNumber => "m.version",
                    Attribute::RunId => "m.run_id",
                    Attribute::SourcePath => "m.source",
                    _ => "NULL",
                };
                // version_number = '3' is as good as = 3.
                let value = match (&c.value, a) {
                    (Literal::String(s), Attribute::VersionNumber) => {
                        s.parse::<f64>().map(Literal::Number).unwrap_or_else(|_| c.value.clone())
                    }
                    (Literal::List(items), Attribute::VersionNumber) => Literal::List(items.clone()),
                    _ => c.value.clone(),
                };
                compare(column, c.op, &value, sql)
            }
            _ => "0".into(),
        },
    }
}

impl Store {
    pub fn registered_model(&self, name: &str) -> Result<RegisteredModel> {
        self.with_reader(|c| {
            load_model(c, name)?
                .ok_or_else(|| Error::not_found(format!("Registered Model with name={name} not found")).into())
        })
    }

    pub fn model_version(&self, name: &str, version: i64) -> Result<ModelVersion> {
        self.with_reader(|c| {
            if load_model_exists(c, name)? {
                load_version(c, name, version, true)?.ok_or_else(|| {
                    Error::not_found(format!("Model Version (name={name}, version={version}) not found")).into()
                })
            } else {
                Err(Error::not_found(format!("Registered Model with name={name} not found")).into())
            }
        })
    }

    /// The highest live version number of `name`, if any (all versions,
    /// deleted included, with `include_deleted`, for numbering).
    pub fn max_version(&self, name: &str, include_deleted: bool) -> Result<Option<i64>> {
        self.with_reader(|c| {
            let sql = if include_deleted {
                "SELECT max(version) FROM model_versions WHERE name = ?1"
            } else {
                "SELECT max(version) FROM model_versions WHERE name = ?1 AND deleted = 0"
            };
            Ok(c.prepare_cached(sql)?.query_row([name], |r| r.get::<_, Option<i64>>(0))?)
        })
    }

    pub fn alias_version(&self, name: &str, alias: &str) -> Result<Option<i64>> {
        self.with_reader(|c| {
            Ok(c.prepare_cached("SELECT version FROM registered_model_aliases WHERE name = ?1 AND alias = ?2")?
                .query_row(params![name, alias], |r| r.get(0))
                .optional()?)
        })
    }

    pub fn search_registered_models(&self, q: &RegistryQuery) -> Result<(Vec<RegisteredModel>, bool)> {
        self.with_reader(|c| {
            let mut sql = Sql::default();
            let wheres = registry_wheres(q, &mut sql, false);
            let mut terms = registry_order(q);
            terms.push("m.name ASC".into());
            let text = format!(
                "SELECT m.name FROM registered_models m WHERE {wheres} ORDER BY {} LIMIT {} OFFSET {}",
                terms.join(", "),
                q.limit.saturating_add(1),
                q.offset
            );
            let (names, more) = crate::search_sql::keys_page(c, &text, &sql, q.limit)?;
            let mut out = Vec::with_capacity(names.len());
            for n in &names {
                out.extend(load_model(c, n)?);
            }
            Ok((out, more))
        })
    }

    pub fn search_model_versions(&self, q: &RegistryQuery) -> Result<(Vec<ModelVersion>, bool)> {
        self.with_reader(|c| {
            let mut sql = Sql::default();
            let wheres = registry_wheres(q, &mut sql, true);
            let mut terms = registry_order(q);
            if terms.is_empty() {
                terms.push("m.last_update_time DESC".into());
            }
            terms.push("m.name ASC".into());
            terms.push("m.version DESC".into());
            let text = format!(
                "SELECT {VERSION_COLUMNS} FROM model_versions m WHERE {wheres} ORDER BY {} LIMIT {} OFFSET {}",
                terms.join(", "),
                q.limit.saturating_add(1),
                q.offset
            );
            let mut found: Vec<ModelVersion> = c
                .prepare(&text)?
                .query_map(rusqlite::params_from_iter(sql.params.iter()), version_from_row)?
                .collect::<rusqlite::Result<_>>()?;
            let more = found.len() as i64 > q.limit;
            found.truncate(q.limit as usize);
            for v in &mut found {
                v.tags = version_tags(c, &v.name, v.version)?;
            }
            Ok((found, more))
        })
    }
}

/// The WHERE clause both registry searches share: the filter, live
/// versions only, and prompts hidden unless asked for.
fn registry_wheres(q: &RegistryQuery, sql: &mut Sql, versions: bool) -> String {
    let mut wheres = vec![if versions { "m.deleted = 0" } else { "1" }.to_string()];
    if let Some(f) = &q.filter {
        wheres.push(registry_filter(f, sql, versions));
    }
    if !q.include_prompts {
        wheres.push(prompt_exclusion("m.name"));
    }
    wheres.join(" AND ")
}

/// ORDER BY terms for the requested keys (the API has checked which keys
/// each search accepts).
fn registry_order(q: &RegistryQuery) -> Vec<String> {
    q.order_by
        .iter()
        .filter_map(|(k, asc)| {
            let column = match k.as_str() {
                "name" => "m.name",
                "timestamp" | "last_updated_timestamp" => "m.last_update_time",
                "creation_timestamp" => "m.creation_time",
                "version_number" => "m.version",
                _ => return None,
            };
            Some(format!("{column} {}", if *asc { "ASC" } else { "DESC" }))
        })
        .collect()
}

fn load_model_exists(c: &Connection, name: &str) -> Result<bool> {
    Ok(c.prepare_cached("SELECT 1 FROM registered_models WHERE name = ?1")?
        .query_row([name], |_| Ok(()))
        .optional()?
        .is_some())
}

/// This family's tables, by schema version (see `crate::schema`).
pub(crate) const MIGRATIONS: &[(usize, &str)] = &[
    // 4: the model registry.
    (
        4,
        r#"
    CREATE TABLE registered_models (
        name             TEXT PRIMARY KEY,
        creation_time    INTEGER NOT NULL,
        last_update_time INTEGER NOT NULL,
        description      TEXT
    );
    CREATE TABLE registered_model_tags (
        name  TEXT NOT NULL,
        key   TEXT NOT NULL,
        value TEXT NOT NULL,
        seq   INTEGER NOT NULL,
        PRIMARY KEY (name, key)
    ) WITHOUT ROWID;
    CREATE TABLE registered_model_aliases (
        name    TEXT NOT NULL,
        alias   TEXT NOT NULL,
        version INTEGER NOT NULL,
        PRIMARY KEY (name, alias)
    ) WITHOUT ROWID;
    CREATE TABLE model_versions (
        name             TEXT NOT NULL,
        version          INTEGER NOT NULL,
        creation_time    INTEGER NOT NULL,
        last_update_time INTEGER NOT NULL,
        description      TEXT,
        current_stage    TEXT NOT NULL,
        source           TEXT NOT NULL,
        storage_location TEXT NOT NULL,
        run_id           TEXT,
        run_link         TEXT,
        model_id         TEXT,
        deleted          INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (name, version)
    ) WITHOUT ROWID;
    CREATE INDEX model_versions_by_run ON model_versions(run_id);
    CREATE TABLE model_version_tags (
        name    TEXT NOT NULL,
        version INTEGER NOT NULL,
        key     TEXT NOT NULL,
        value   TEXT NOT NULL,
        seq     INTEGER NOT NULL,
        PRIMARY KEY (name, version, key)
    ) WITHOUT ROWID;
    "#,
    ),
    // 9: model-version identity across renumbering. `create_op` is the op
    // that created a version, which later ops name so they follow it;
    // `version_claims` holds where each creation first appeared on a
    // remote's history, the order that decides who keeps a number.
    (
        9,
        r#"
    ALTER TABLE model_versions ADD COLUMN create_op TEXT;
    CREATE INDEX model_versions_by_create_op ON model_versions(create_op);
    CREATE TABLE version_claims (
        op_id    TEXT PRIMARY KEY,
        position INTEGER NOT NULL
    ) WITHOUT ROWID;
    "#,
    ),
];
