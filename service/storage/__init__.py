"""Where the register's state lives: records (SQLite / PostgreSQL), stored images, the
data-dir lock, the Milvus fields of a record.
"""
