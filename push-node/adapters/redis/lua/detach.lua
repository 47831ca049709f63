-- Removes a node from the user's presence, only if it still names this incarnation.
-- KEYS: presence. ARGV: node, incarnation. Returns 1.
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 1
