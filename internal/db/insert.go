package db

// InsertID runs an INSERT of one row into a table whose primary key is
// "id" and returns the new id. On PostgreSQL it appends RETURNING id; on
// SQLite it reads the connection's last inserted rowid instead, because
// SQLite implements RETURNING with a temporary table per execution, which
// costs more than the insert itself.
func (tx *Tx) InsertID(q string, args ...any) (int64, error) {
	if tx.d.dialect == SQLite {
		res, err := tx.Exec(q, args...)
		if err != nil {
			return 0, err
		}
		return res.LastInsertId()
	}
	var id int64
	err := tx.QueryRow(q+" RETURNING id", args...).Scan(&id)
	return id, err
}
