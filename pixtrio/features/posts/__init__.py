"""Posts: upload URLs and receiving uploads, publishing, reading and deleting."""
