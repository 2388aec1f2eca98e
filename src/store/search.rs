//! Substring search on names, the same on every backend: names and needles are folded in Rust
//! (SQL `LOWER` folds only ASCII on SQLite) into a column kept beside the name, and the needle's
//! wildcards are taken literally. Used by the manifest list, the storefront library and the
//! review queue.

use sqlx::Row;

use super::db::Db;

/// A name as search compares it: Unicode lowercase.
pub fn fold(name: &str) -> String {
    name.to_lowercase()
}

/// `LIKE ... ESCAPE '\'` pattern for folded names containing `search`, its `%`, `_` and `\`
/// literal.
pub fn like_contains(search: &str) -> String {
    let mut out = String::from("%");
    for ch in fold(search).chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('%');
    out
}

/// `GLOB` pattern for folded names containing `search`, its `*`, `?` and `[` literal (each in
/// brackets: GLOB has no escape character; `]` outside brackets is literal already).
pub fn glob_contains(search: &str) -> String {
    let mut out = String::from("*");
    for ch in fold(search).chars() {
        match ch {
            '*' | '?' | '[' => {
                out.push('[');
                out.push(ch);
                out.push(']');
            }
            _ => out.push(ch),
        }
    }
    out.push('*');
    out
}

/// Fills `table.folded` from `table.name` where it is still NULL (rows stored before the column
/// existed), in batches of 1,000 keyed by the `key` columns; a no-op once done. Returns how many
/// rows it filled. Table and column names are the caller's constants, never input.
pub async fn fill_folded(
    db: &Db,
    table: &str,
    key: &[&str],
    folded: &str,
) -> anyhow::Result<usize> {
    let select = format!(
        "SELECT {keys}, name FROM {table} WHERE {folded} IS NULL LIMIT 1000",
        keys = key.join(", ")
    );
    let matches: Vec<String> = key
        .iter()
        .enumerate()
        .map(|(i, k)| format!("{k} = ${}", i + 2))
        .collect();
    let update = format!(
        "UPDATE {table} SET {folded} = $1 WHERE {}",
        matches.join(" AND ")
    );
    let mut filled = 0;
    loop {
        let rows = sqlx::query(&select).fetch_all(&db.pool).await?;
        if rows.is_empty() {
            return Ok(filled);
        }
        let mut tx = db.pool.begin().await?;
        for r in &rows {
            let name: String = r.try_get("name")?;
            let mut q = sqlx::query(&update).bind(fold(&name));
            for k in key {
                q = q.bind(r.try_get::<String, _>(*k)?);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        filled += rows.len();
    }
}

#[cfg(test)]
mod tests {
    use super::{glob_contains, like_contains};

    #[test]
    fn search_patterns_take_wildcards_literally_and_fold_case() {
        assert_eq!(like_contains("Ab"), "%ab%");
        assert_eq!(like_contains("50%_off\\"), "%50\\%\\_off\\\\%");
        assert_eq!(glob_contains("ÉTÉ"), "*été*");
        assert_eq!(glob_contains("a*b?[c]"), "*a[*]b[?][[]c]*");
        assert_eq!(glob_contains("100%_"), "*100%_*");
    }
}
