-- Where a mount key was last used from, written with last_used_at at most once per
-- key_use_audit_secs (the same moments as the key's use audit line), shown by `key list`.
ALTER TABLE mount_keys ADD COLUMN last_used_ip TEXT;
ALTER TABLE mount_keys ADD COLUMN last_used_user_agent TEXT;
