-- Records that a node holds a channel for the user and reads the inbox head, in one step.
-- KEYS: meta, presence. ARGV: node, incarnation.
-- Returns {epoch or '', last offset or '0-0' (START)}.
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local m = redis.call('HMGET', KEYS[1], 'e', 'l')
return {m[1] or '', m[2] or '0-0'}
