"""Long-lived trio tasks with mailboxes or children of their own."""
