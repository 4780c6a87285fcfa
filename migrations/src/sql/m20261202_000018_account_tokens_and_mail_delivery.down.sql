DROP INDEX mail_unsent_idx;
ALTER TABLE mail DROP COLUMN sent_at, DROP COLUMN attempts, DROP COLUMN next_attempt_at, DROP COLUMN last_error;
DROP TABLE account_tokens;
ALTER TABLE customers DROP COLUMN email_verified_at;
