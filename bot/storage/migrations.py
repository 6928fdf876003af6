"""Numbered schema migrations.  Each runs in its own transaction; never edit a released one."""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: initial schema
    """
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        platform_user_id TEXT NOT NULL,
        language TEXT NOT NULL DEFAULT 'en',
        created_at REAL NOT NULL,
        UNIQUE (platform, platform_user_id)
    );
    CREATE TABLE voices (
        user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        profile BLOB NOT NULL,
        engine TEXT NOT NULL,
        version TEXT NOT NULL,
        meta TEXT NOT NULL DEFAULT '{}',
        created_at REAL NOT NULL
    );
    CREATE TABLE consents (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        method TEXT NOT NULL CHECK (method IN ('spoken', 'button')),
        text_shown TEXT NOT NULL,
        transcript TEXT,
        score REAL,
        audio_sha256 TEXT,
        created_at REAL NOT NULL
    );
    CREATE TABLE server_policies (
        platform TEXT NOT NULL,
        server_id TEXT NOT NULL,
        clone_allowed INTEGER NOT NULL DEFAULT 1,
        say_mode TEXT NOT NULL DEFAULT 'everyone' CHECK (say_mode IN ('everyone', 'role', 'admins')),
        say_role TEXT,
        cooldown_s INTEGER NOT NULL DEFAULT 0,
        max_chars INTEGER NOT NULL DEFAULT 500,
        shared_voices_allowed INTEGER NOT NULL DEFAULT 0,
        updated_at REAL NOT NULL,
        PRIMARY KEY (platform, server_id)
    );
    CREATE TABLE member_blocks (
        platform TEXT NOT NULL,
        server_id TEXT NOT NULL,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        blocked_by TEXT NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (platform, server_id, user_id)
    );
    CREATE TABLE member_roles (
        platform TEXT NOT NULL,
        server_id TEXT NOT NULL,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('trusted')),
        PRIMARY KEY (platform, server_id, user_id)
    );
    CREATE TABLE voice_shares (
        owner_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        platform TEXT NOT NULL,
        server_id TEXT NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (owner_id, platform, server_id)
    );
    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        voice_owner_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
        platform TEXT NOT NULL,
        server_id TEXT NOT NULL,
        text_sha256 TEXT NOT NULL,
        emotion TEXT NOT NULL,
        duration_s REAL NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX audit_by_user ON audit_log (user_id, created_at);
    CREATE INDEX audit_by_server ON audit_log (platform, server_id, user_id);
    """,
    # 2: moderation survives /forget; pending confirmations survive restarts; atomic cooldowns
    """
    CREATE TABLE member_blocks_v2 (
        platform TEXT NOT NULL,
        server_id TEXT NOT NULL,
        subject TEXT NOT NULL,
        blocked_by TEXT NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (platform, server_id, subject)
    );
    INSERT INTO member_blocks_v2 (platform, server_id, subject, blocked_by, created_at)
        SELECT b.platform, b.server_id, u.platform_user_id, b.blocked_by, b.created_at
        FROM member_blocks b JOIN users u ON u.id = b.user_id;
    DROP TABLE member_blocks;
    ALTER TABLE member_blocks_v2 RENAME TO member_blocks;
    CREATE TABLE pending_actions (
        token TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('consent', 'forget')),
        status TEXT NOT NULL CHECK (status IN ('open', 'agreed', 'cancelled', 'done')),
        method TEXT NOT NULL DEFAULT '',
        code TEXT NOT NULL DEFAULT '',
        sentence TEXT NOT NULL DEFAULT '',
        language TEXT NOT NULL DEFAULT 'en',
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL
    );
    CREATE INDEX pending_by_user ON pending_actions (user_id, kind, created_at);
    CREATE TABLE cooldowns (
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        platform TEXT NOT NULL,
        server_id TEXT NOT NULL,
        reserved_at REAL NOT NULL,
        PRIMARY KEY (user_id, platform, server_id)
    );
    """,
    # 3: voice channels: the read-aloud text channel, members who opted out, and when the bot leaves
    #    (NULL: the operator's default from config.toml)
    """
    ALTER TABLE server_policies ADD COLUMN read_aloud_channel TEXT;
    ALTER TABLE server_policies ADD COLUMN voice_idle_s INTEGER;
    ALTER TABLE server_policies ADD COLUMN voice_leave_alone INTEGER;
    CREATE TABLE read_aloud_optouts (
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        platform TEXT NOT NULL,
        server_id TEXT NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (user_id, platform, server_id)
    );
    """,
    # 4: provenance: the watermark id of every note (its audit row), and the speaker embedding of
    #    each user's voice as the bot renders it (a /clone recording too close to one is refused)
    """
    ALTER TABLE audit_log ADD COLUMN mark INTEGER;
    CREATE INDEX audit_by_mark ON audit_log (mark);
    CREATE TABLE rendered_voices (
        user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        embedding BLOB NOT NULL,
        created_at REAL NOT NULL
    );
    """,
    # 5: accountability: each use of another person's voice, kept by the server for a retention
    #    period whatever the requester or an admin deletes (no foreign keys: /forget and /purge do
    #    not cascade here); texts only as a keyed hash with this deployment's own salt; and the owners
    #    who want a private notice each time their shared voice is used; and what each note cost
    #    (the server's record: /forget removes only the link to the user)
    """
    CREATE TABLE voice_use_records (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        server_id TEXT NOT NULL,
        requester TEXT NOT NULL,
        owner TEXT NOT NULL,
        text_hmac TEXT NOT NULL,
        mark INTEGER,
        created_at REAL NOT NULL
    );
    CREATE INDEX voice_use_by_server ON voice_use_records (platform, server_id, created_at);
    CREATE INDEX voice_use_by_time ON voice_use_records (created_at);
    CREATE INDEX voice_use_by_mark ON voice_use_records (mark);
    CREATE TABLE deployment_secrets (
        name TEXT PRIMARY KEY,
        value BLOB NOT NULL
    );
    CREATE TABLE share_notices (
        user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        created_at REAL NOT NULL
    );
    CREATE TABLE usage_records (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        server_id TEXT NOT NULL,
        user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
        engine TEXT NOT NULL,
        characters INTEGER NOT NULL,
        audio_s REAL NOT NULL,
        compute_s REAL NOT NULL,
        wait_s REAL NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX usage_by_server ON usage_records (platform, server_id, created_at);
    ALTER TABLE server_policies ADD COLUMN quota_server_s INTEGER;
    ALTER TABLE server_policies ADD COLUMN quota_member_s INTEGER;
    """,
    # 6: engines side by side: one profile per engine from the one recording, in voice_profiles
    #    only (the voices row keeps the voice's facts and which engine made it first; its profile
    #    column is emptied, not kept twice); each user's own engine choice (/engine); notices a
    #    user should hear only once (a voice an engine can no longer read)
    """
    CREATE TABLE voice_profiles (
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        engine TEXT NOT NULL,
        version TEXT NOT NULL,
        profile BLOB NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (user_id, engine)
    );
    INSERT INTO voice_profiles (user_id, engine, version, profile, created_at)
        SELECT user_id, engine, version, profile, created_at FROM voices;
    UPDATE voices SET profile = '';
    CREATE TABLE engine_choices (
        user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        engine TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE TABLE user_notices (
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (user_id, kind)
    );
    """,
    # 7: provenance against someone who has read the code: the deployment's secret watermark keys
    #    (newest first by created_at; old ones still verify), note ids from a sequence per key (never
    #    reused: a key that runs out must be rotated), each note's key next to its id; /clone
    #    attempts and lockouts by platform id (no foreign key: /forget must not reset them)
    """
    CREATE TABLE watermark_keys (
        fingerprint TEXT PRIMARY KEY,
        secret BLOB NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE TABLE note_sequences (
        key_fp TEXT PRIMARY KEY,
        next_id INTEGER NOT NULL
    );
    ALTER TABLE audit_log ADD COLUMN mark_key TEXT;
    ALTER TABLE voice_use_records ADD COLUMN mark_key TEXT;
    CREATE INDEX audit_by_key_mark ON audit_log (mark_key, mark);
    CREATE INDEX voice_use_by_key_mark ON voice_use_records (mark_key, mark);
    CREATE TABLE clone_attempts (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        platform_user_id TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX clone_attempts_by_user ON clone_attempts (platform, platform_user_id, created_at);
    CREATE TABLE clone_lockouts (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        platform_user_id TEXT NOT NULL,
        reason TEXT NOT NULL,
        locked_until REAL NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX clone_lockouts_by_user ON clone_lockouts (platform, platform_user_id, locked_until);
    """,
    # 8: nothing runs before it is allowed and paid for: each day's spend (speech and compute
    #    seconds) per scope — a user across every place, a server, a member of a server — keyed by
    #    platform ids (no foreign key: /forget must not reset a day's budget; no text is kept), and
    #    the holds of requests being made, reserved before any compute and settled note by note;
    #    each usage row says whether its compute made a note or failed
    """
    CREATE TABLE spend (
        scope TEXT NOT NULL,
        day REAL NOT NULL,
        audio_s REAL NOT NULL DEFAULT 0,
        compute_s REAL NOT NULL DEFAULT 0,
        PRIMARY KEY (scope, day)
    );
    CREATE TABLE spend_holds (
        id INTEGER PRIMARY KEY,
        hold TEXT NOT NULL,
        scope TEXT NOT NULL,
        day REAL NOT NULL,
        audio_s REAL NOT NULL,
        compute_s REAL NOT NULL,
        expires_at REAL NOT NULL
    );
    CREATE INDEX spend_holds_by_scope ON spend_holds (scope, day);
    CREATE INDEX spend_holds_by_hold ON spend_holds (hold);
    ALTER TABLE usage_records ADD COLUMN outcome TEXT NOT NULL DEFAULT 'sent';
    """,
]
