"""The actor runtime: instance actors, activity tasks, smart-link mailboxes."""
