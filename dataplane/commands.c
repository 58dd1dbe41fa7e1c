/* The command table (see commands.h). Rows were first written from the
 * reference server's COMMAND INFO and COMMAND DOCS so that arity, flags, key
 * positions and ACL categories match what clients expect; they are
 * maintained by hand from here on.
 *
 * Lookup is by a case-folded open-addressing index built on first use: the
 * hot path costs one hash of the command name and one compare.
 */
#include <pthread.h>
#include <string.h>
#include <strings.h>

#include "commands.h"

static const struct command client_subs[] = {
    {"client|id", cmd_client, 2, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "slow connection", "connection", "5.0.0",
     "O(1)", "Returns the client ID for the current connection", NULL, NULL, NULL, NULL, NULL, 0, NULL},
    {"client|help", cmd_client, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "slow connection", "connection", "5.0.0",
     "O(1)", "Show helpful text about the different subcommands", NULL, NULL, NULL, NULL, NULL, 0, NULL},
    {"client|info", cmd_client, 2, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "slow connection", "connection", "6.2.0",
     "O(1)", "Returns information about the current client connection.", NULL, NULL, "nondeterministic_output", NULL, NULL, 0, NULL},
    {"client|setname", cmd_client, 3, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "slow connection", "connection", "2.6.9",
     "O(1)", "Set the current connection name", NULL, NULL, NULL, "connection-name,string", NULL, 0, NULL},
    {"client|getname", cmd_client, 2, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "slow connection", "connection", "2.6.9",
     "O(1)", "Get the current connection name", NULL, NULL, NULL, NULL, NULL, 0, NULL},
    {"client|list", cmd_client, -2, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_KEYSPACE, 0, 0, 0, "admin slow dangerous connection", "connection", "2.4.0",
     "O(N) where N is the number of client connections", "Get the list of client connections", NULL, NULL, "nondeterministic_output", "normal_master_replica_pubsub,oneof,TYPE?(normal,pure-token,NORMAL master,pure-token,MASTER replica,pure-token,REPLICA pubsub,pure-token,PUBSUB) id,block,ID?(client-id,integer*)", NULL, 0, NULL},
    {"client|kill", cmd_client, -3, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_KEYSPACE, 0, 0, 0, "admin slow dangerous connection", "connection", "2.4.0",
     "O(N) where N is the number of client connections", "Kill the connection of a client", NULL, NULL, NULL, "filter,oneof(ip:port,string new-format,oneof*(client-id,integer,ID? normal_master_slave_pubsub,oneof,TYPE?(normal,pure-token,NORMAL master,pure-token,MASTER slave,pure-token,SLAVE replica,pure-token,REPLICA pubsub,pure-token,PUBSUB) username,string,USER? ip:port,string,ADDR? ip:port,string,LADDR? yes/no,string,SKIPME?))", NULL, 0, NULL},
    {0},
};

static const struct command command_subs[] = {
    {"command|docs", cmd_command, -2, CMD_LOADING | CMD_STALE, 0, 0, 0, "slow connection", "server", "7.0.0",
     "O(N) where N is the number of commands to look up", "Get array of specific command documentation", NULL, NULL, "nondeterministic_output_order", "command-name,string?*", NULL, 0, NULL},
    {"command|count", cmd_command, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "slow connection", "server", "2.8.13",
     "O(1)", "Get total number of commands", NULL, NULL, NULL, NULL, NULL, 0, NULL},
    {"command|info", cmd_command, -2, CMD_LOADING | CMD_STALE, 0, 0, 0, "slow connection", "server", "2.8.13",
     "O(N) where N is the number of commands to look up", "Get array of specific command details, or all when no argument is given.", NULL, NULL, "nondeterministic_output_order", "command-name,string?*", NULL, 0, NULL},
    {"command|list", cmd_command, -2, CMD_LOADING | CMD_STALE, 0, 0, 0, "slow connection", "server", "7.0.0",
     "O(N) where N is the total number of commands", "Get an array of command names", NULL, NULL, "nondeterministic_output_order", "filterby,oneof,FILTERBY?(module-name,string,MODULE category,string,ACLCAT pattern,pattern,PATTERN)", NULL, 0, NULL},
    {"command|getkeys", cmd_command, -4, CMD_LOADING | CMD_STALE, 0, 0, 0, "slow connection", "server", "2.8.13",
     "O(N) where N is the number of arguments to the command", "Extract keys given a full command", NULL, NULL, NULL, NULL, NULL, 0, NULL},
    {"command|help", cmd_command, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "slow connection", "server", "5.0.0",
     "O(1)", "Show helpful text about the different subcommands", NULL, NULL, NULL, NULL, NULL, 0, NULL},
    {0},
};

static const struct command config_subs[] = {
    {"config|get", cmd_config, -3, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "admin slow dangerous", "server", "2.0.0",
     "O(N) when N is the number of configuration parameters provided", "Get the values of configuration parameters", NULL, NULL, NULL, "parameter,block*(parameter,string)", NULL, 0, NULL},
    {"config|resetstat", cmd_config, 2, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_KEYSPACE, 0, 0, 0, "admin slow dangerous", "server", "2.0.0",
     "O(1)", "Reset the stats returned by INFO", NULL, NULL, NULL, NULL, NULL, 0, NULL},
    {"config|help", cmd_config, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "slow", "server", "5.0.0",
     "O(1)", "Show helpful text about the different subcommands", NULL, NULL, NULL, NULL, NULL, 0, NULL},
    {"config|set", cmd_config, -4, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "admin slow dangerous", "server", "2.0.0",
     "O(N) when N is the number of configuration parameters provided", "Set configuration parameters to the given values", NULL, NULL, "request_policy:all_nodes response_policy:all_succeeded", "parameter_value,block*(parameter,string value,string)", NULL, 0, NULL},
    {0},
};

static const struct command object_subs[] = {
    {"object|idletime", cmd_object, 3, CMD_READONLY, 2, 2, 1, "keyspace read slow", "generic", "2.2.3",
     "O(1)", "Get the time since an object was last accessed", "RO;2;0;1", NULL, "nondeterministic_output", "key,key", NULL, 0, NULL},
    {"object|freq", cmd_object, 3, CMD_READONLY, 2, 2, 1, "keyspace read slow", "generic", "4.0.0",
     "O(1)", "Get the logarithmic access frequency counter of an object", "RO;2;0;1", NULL, "nondeterministic_output", "key,key", NULL, 0, NULL},
    {"object|encoding", cmd_object, 3, CMD_READONLY, 2, 2, 1, "keyspace read slow", "generic", "2.2.3",
     "O(1)", "Inspect the internal encoding of an object", "RO;2;0;1", NULL, "nondeterministic_output", "key,key", NULL, 0, NULL},
    {"object|help", cmd_object, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "keyspace slow", "generic", "6.2.0",
     "O(1)", "Show helpful text about the different subcommands", NULL, NULL, NULL, NULL, NULL, 0, NULL},
    {"object|refcount", cmd_object, 3, CMD_READONLY, 2, 2, 1, "keyspace read slow", "generic", "2.2.3",
     "O(1)", "Get the number of references to the value of the key", "RO;2;0;1", NULL, "nondeterministic_output", "key,key", NULL, 0, NULL},
    {0},
};

static const struct command memory_subs[] = {
    {"memory|usage", cmd_memory, -3, CMD_READONLY, 2, 2, 1, "read slow", "server", "4.0.0",
     "O(N) where N is the number of samples.", "Estimate the memory usage of a key", "RO;2;0;1", NULL, NULL, "key,key count,integer,SAMPLES?", NULL, 0, NULL},
    {"memory|stats", cmd_memory, 2, CMD_KEYSPACE, 0, 0, 0, "slow", "server", "4.0.0",
     "O(1)", "Show memory usage details", NULL, NULL, "nondeterministic_output request_policy:all_shards response_policy:special", NULL, NULL, 0, NULL},
    {"memory|doctor", cmd_memory, 2, CMD_KEYSPACE, 0, 0, 0, "slow", "server", "4.0.0",
     "O(1)", "Outputs memory problems report", NULL, NULL, "nondeterministic_output request_policy:all_shards response_policy:special", NULL, NULL, 0, NULL},
    {"memory|purge", cmd_memory, 2, 0, 0, 0, 0, "slow", "server", "4.0.0",
     "Depends on how much memory is allocated, could be slow", "Ask the allocator to release memory", NULL, NULL, "request_policy:all_shards response_policy:all_succeeded", NULL, NULL, 0, NULL},
    {"memory|malloc-stats", cmd_memory, 2, 0, 0, 0, 0, "slow", "server", "4.0.0",
     "Depends on how much memory is allocated, could be slow", "Show allocator internal stats", NULL, NULL, "nondeterministic_output request_policy:all_shards response_policy:special", NULL, NULL, 0, NULL},
    {"memory|help", cmd_memory, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "slow", "server", "4.0.0",
     "O(1)", "Show helpful text about the different subcommands", NULL, NULL, NULL, NULL, NULL, 0, NULL},
    {0},
};

static const struct command cluster_subs[] = {
    {"cluster|keyslot", cmd_cluster, 3, CMD_STALE, 0, 0, 0, "slow", "cluster", "3.0.0",
     "O(N) where N is the number of bytes in the key", "Returns the hash slot of the specified key", NULL, NULL, NULL, "key,string", NULL, 0, NULL},
    {"cluster|info", cmd_cluster, 2, CMD_STALE, 0, 0, 0, "slow", "cluster", "3.0.0",
     "O(1)", "Provides info about Redis Cluster node state", NULL, NULL, "nondeterministic_output", NULL, NULL, 0, NULL},
    {"cluster|nodes", cmd_cluster, 2, CMD_STALE, 0, 0, 0, "slow", "cluster", "3.0.0",
     "O(N) where N is the total number of Cluster nodes", "Get Cluster config for the node", NULL, NULL, "nondeterministic_output", NULL, NULL, 0, NULL},
    {"cluster|slots", cmd_cluster, 2, CMD_STALE, 0, 0, 0, "slow", "cluster", "3.0.0",
     "O(N) where N is the total number of Cluster nodes", "Get array of Cluster slot to node mappings", NULL, NULL, "nondeterministic_output", NULL, NULL, 0, NULL},
    {"cluster|shards", cmd_cluster, 2, CMD_STALE, 0, 0, 0, "slow", "cluster", "7.0.0",
     "O(N) where N is the total number of cluster nodes", "Get array of cluster slots to node mappings", NULL, NULL, "nondeterministic_output", NULL, NULL, 0, NULL},
    {"cluster|myid", cmd_cluster, 2, CMD_STALE, 0, 0, 0, "slow", "cluster", "3.0.0",
     "O(1)", "Return the node id", NULL, NULL, NULL, NULL, NULL, 0, NULL},
    {"cluster|countkeysinslot", cmd_cluster, 3, CMD_STALE, 0, 0, 0, "slow", "cluster", "3.0.0",
     "O(1)", "Return the number of local keys in the specified hash slot", NULL, NULL, NULL, "slot,integer", NULL, 0, NULL},
    {"cluster|getkeysinslot", cmd_cluster, 4, CMD_STALE, 0, 0, 0, "slow", "cluster", "3.0.0",
     "O(log(N)) where N is the number of requested keys", "Return local key names in the specified hash slot", NULL, NULL, "nondeterministic_output", "slot,integer count,integer", NULL, 0, NULL},
    {"cluster|links", cmd_cluster, 2, CMD_STALE, 0, 0, 0, "slow", "cluster", "7.0.0",
     "O(N) where N is the total number of Cluster nodes", "Returns a list of all TCP links to and from peer nodes in cluster", NULL, NULL, "nondeterministic_output", NULL, NULL, 0, NULL},
    {"cluster|help", cmd_cluster, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "slow", "cluster", "5.0.0",
     "O(1)", "Show helpful text about the different subcommands", NULL, NULL, NULL, NULL, NULL, 0, NULL},
    {0},
};

static const struct command table[] = {
    {"ping", cmd_ping, -1, CMD_FAST, 0, 0, 0, "fast connection", "connection", "1.0.0",
     "O(1)", "Ping the server", NULL, NULL, "request_policy:all_shards response_policy:all_succeeded", "message,string?", NULL, 0, NULL},
    {"echo", cmd_echo, 2, CMD_LOADING | CMD_STALE | CMD_FAST, 0, 0, 0, "fast connection", "connection", "1.0.0",
     "O(1)", "Echo the given string", NULL, NULL, NULL, "message,string", NULL, 0, NULL},
    {"quit", cmd_quit, -1, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_NO_AUTH | CMD_ALLOW_BUSY, 0, 0, 0, "fast connection", "connection", "1.0.0",
     "O(1)", "Close the connection", NULL, NULL, NULL, NULL, NULL, 0, NULL},
    {"reset", cmd_reset, 1, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_NO_AUTH | CMD_ALLOW_BUSY, 0, 0, 0, "fast connection", "connection", "6.2.0",
     "O(1)", "Reset the connection", NULL, NULL, NULL, NULL, NULL, 0, NULL},
    {"hello", cmd_hello, -1, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_NO_AUTH | CMD_ALLOW_BUSY, 0, 0, 0, "fast connection", "connection", "6.0.0",
     "O(1)", "Handshake with the server", NULL, NULL, NULL, "arguments,block?(protover,integer username_password,block,AUTH?(username,string password,string) clientname,string,SETNAME?)", NULL, 0, NULL},
    {"select", cmd_select, 2, CMD_LOADING | CMD_STALE | CMD_FAST, 0, 0, 0, "fast connection", "connection", "1.0.0",
     "O(1)", "Change the selected database for the current connection", NULL, NULL, NULL, "index,integer", NULL, 0, NULL},
    {"client", cmd_client, -2, 0, 0, 0, 0, "slow", "connection", "2.4.0",
     "Depends on subcommand.", "A container for client connection commands", NULL, NULL, NULL, NULL, client_subs, 0, NULL},
    {"command", cmd_command, -1, CMD_LOADING | CMD_STALE, 0, 0, 0, "slow connection", "server", "2.8.13",
     "O(N) where N is the total number of commands", "Get array of command details", NULL, NULL, "nondeterministic_output_order", NULL, command_subs, 0, NULL},
    {"info", cmd_info, -1, CMD_LOADING | CMD_STALE | CMD_KEYSPACE, 0, 0, 0, "slow dangerous", "server", "1.0.0",
     "O(1)", "Get information and statistics about the server", NULL, NULL, "nondeterministic_output request_policy:all_shards response_policy:special", "section,string?*", NULL, 0, NULL},
    {"config", cmd_config, -2, 0, 0, 0, 0, "slow", "server", "2.0.0",
     "Depends on subcommand.", "A container for server configuration commands", NULL, NULL, NULL, NULL, config_subs, 0, NULL},
    {"time", cmd_time, 1, CMD_LOADING | CMD_STALE | CMD_FAST, 0, 0, 0, "fast", "server", "2.6.0",
     "O(1)", "Return the current server time", NULL, NULL, "nondeterministic_output", NULL, NULL, 0, NULL},
    {"shutdown", cmd_shutdown, -1, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_NO_MULTI | CMD_ALLOW_BUSY | CMD_KEYSPACE, 0, 0, 0, "admin slow dangerous", "server", "1.0.0",
     "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)", "Synchronously save the dataset to disk and then shut down the server", NULL, NULL, NULL, "nosave_save,oneof?(nosave,pure-token,NOSAVE save,pure-token,SAVE) now,pure-token,NOW? force,pure-token,FORCE? abort,pure-token,ABORT?", NULL, 0, NULL},
    {"lastsave", cmd_lastsave, 1, CMD_LOADING | CMD_STALE | CMD_FAST, 0, 0, 0, "admin fast dangerous", "server", "1.0.0",
     "O(1)", "Get the UNIX time stamp of the last successful save to disk", NULL, NULL, "nondeterministic_output", NULL, NULL, 0, NULL},
    {"debug", cmd_debug, -2, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "admin slow dangerous", "server", "1.0.0",
     "Depends on subcommand.", "A container for debugging commands", NULL, NULL, NULL, NULL, NULL, 0, NULL},
    {"memory", NULL, -2, 0, 0, 0, 0, "slow", "server", "4.0.0",
     "Depends on subcommand.", "A container for memory diagnostics commands", NULL, NULL, NULL, NULL, memory_subs, 0, NULL},
    {"cluster", NULL, -2, 0, 0, 0, 0, "slow", "cluster", "3.0.0",
     "Depends on subcommand.", "A container for cluster commands", NULL, NULL, NULL, NULL, cluster_subs, 0, NULL},
    {"multi", cmd_multi, 1, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_ALLOW_BUSY, 0, 0, 0, "fast transaction", "transactions", "1.2.0",
     "O(1)", "Mark the start of a transaction block", NULL, NULL, NULL, NULL, NULL, 0, NULL},
    {"exec", cmd_exec, 1, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_SKIP_SLOWLOG, 0, 0, 0, "slow transaction", "transactions", "1.2.0",
     "Depends on commands in the transaction", "Execute all commands issued after MULTI", NULL, NULL, NULL, NULL, NULL, 0, NULL},
    {"discard", cmd_discard, 1, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_ALLOW_BUSY, 0, 0, 0, "fast transaction", "transactions", "2.0.0",
     "O(N), when N is the number of queued commands", "Discard all commands issued after MULTI", NULL, NULL, NULL, NULL, NULL, 0, NULL},
    {"watch", cmd_watch, -2, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_ALLOW_BUSY, 1, -1, 1, "fast transaction", "transactions", "2.2.0",
     "O(1) for every key.", "Watch the given keys to determine execution of the MULTI/EXEC block", "RO;1;-1;1", NULL, NULL, "key,key*", NULL, 0, NULL},
    {"unwatch", cmd_unwatch, 1, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_ALLOW_BUSY, 0, 0, 0, "fast transaction", "transactions", "2.2.0",
     "O(1)", "Forget about all watched keys", NULL, NULL, NULL, NULL, NULL, 0, NULL},
    {"get", cmd_get, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "read string fast", "string", "1.0.0",
     "O(1)", "Get the value of a key", "RO access;1;0;1", NULL, NULL, "key,key", NULL, 0, NULL},
    {"set", cmd_set, -3, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "write string slow", "string", "1.0.0",
     "O(1)", "Set the string value of a key", "RW access update variable_flags;1;0;1", "RW and ACCESS due to the optional `GET` argument", NULL, "key,key value,string condition,oneof?(nx,pure-token,NX xx,pure-token,XX) get,pure-token,GET? expiration,oneof?(seconds,integer,EX milliseconds,integer,PX unix-time-seconds,unix-time,EXAT unix-time-milliseconds,unix-time,PXAT keepttl,pure-token,KEEPTTL)", NULL, 0, NULL},
    {"setnx", cmd_setnx, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "write string fast", "string", "1.0.0",
     "O(1)", "Set the value of a key, only if the key does not exist", "OW insert;1;0;1", NULL, NULL, "key,key value,string", NULL, 0, NULL},
    {"setex", cmd_setex, 4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "write string slow", "string", "2.0.0",
     "O(1)", "Set the value and expiration of a key", "OW update;1;0;1", NULL, NULL, "key,key seconds,integer value,string", NULL, 0, NULL},
    {"psetex", cmd_psetex, 4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "write string slow", "string", "2.6.0",
     "O(1)", "Set the value and expiration in milliseconds of a key", "OW update;1;0;1", NULL, NULL, "key,key milliseconds,integer value,string", NULL, 0, NULL},
    {"getset", cmd_getset, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "write string fast", "string", "1.0.0",
     "O(1)", "Set the string value of a key and return its old value", "RW access update;1;0;1", NULL, NULL, "key,key value,string", NULL, 0, NULL},
    {"getdel", cmd_getdel, 2, CMD_WRITE | CMD_FAST, 1, 1, 1, "write string fast", "string", "6.2.0",
     "O(1)", "Get the value of a key and delete the key", "RW access delete;1;0;1", NULL, NULL, "key,key", NULL, 0, NULL},
    {"getex", cmd_getex, -2, CMD_WRITE | CMD_FAST, 1, 1, 1, "write string fast", "string", "6.2.0",
     "O(1)", "Get the value of a key and optionally set its expiration", "RW access update;1;0;1", "RW and UPDATE because it changes the TTL", NULL, "key,key expiration,oneof?(seconds,integer,EX milliseconds,integer,PX unix-time-seconds,unix-time,EXAT unix-time-milliseconds,unix-time,PXAT persist,pure-token,PERSIST)", NULL, 0, NULL},
    {"mget", cmd_mget, -2, CMD_READONLY | CMD_FAST, 1, -1, 1, "read string fast", "string", "1.0.0",
     "O(N) where N is the number of keys to retrieve.", "Get the values of all the given keys", "RO access;1;-1;1", NULL, "request_policy:multi_shard", "key,key*", NULL, 0, NULL},
    {"mset", cmd_mset, -3, CMD_WRITE | CMD_DENYOOM, 1, -1, 2, "write string slow", "string", "1.0.1",
     "O(N) where N is the number of keys to set.", "Set multiple keys to multiple values", "OW update;1;-1;2", NULL, "request_policy:multi_shard response_policy:all_succeeded", "key_value,block*(key,key value,string)", NULL, 0, NULL},
    {"msetnx", cmd_msetnx, -3, CMD_WRITE | CMD_DENYOOM, 1, -1, 2, "write string slow", "string", "1.0.1",
     "O(N) where N is the number of keys to set.", "Set multiple keys to multiple values, only if none of the keys exist", "OW insert;1;-1;2", NULL, "request_policy:multi_shard response_policy:agg_min", "key_value,block*(key,key value,string)", NULL, 0, NULL},
    {"append", cmd_append, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "write string fast", "string", "2.0.0",
     "O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present value is of any size, since the dynamic string library used by the server will double the free space available on every reallocation.", "Append a value to a key", "RW insert;1;0;1", NULL, NULL, "key,key value,string", NULL, 0, NULL},
    {"strlen", cmd_strlen, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "read string fast", "string", "2.2.0",
     "O(1)", "Get the length of the value stored in a key", "RO;1;0;1", NULL, NULL, "key,key", NULL, 0, NULL},
    {"getrange", cmd_getrange, 4, CMD_READONLY, 1, 1, 1, "read string slow", "string", "2.4.0",
     "O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.", "Get a substring of the string stored at a key", "RO access;1;0;1", NULL, NULL, "key,key start,integer end,integer", NULL, 0, NULL},
    {"setrange", cmd_setrange, 4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "write string slow", "string", "2.2.0",
     "O(1), not counting the time taken to copy the new string in place. Usually, this string is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of the value argument.", "Overwrite part of a string at key starting at the specified offset", "RW update;1;0;1", NULL, NULL, "key,key offset,integer value,string", NULL, 0, NULL},
    {"substr", cmd_getrange, 4, CMD_READONLY, 1, 1, 1, "read string slow", "string", "1.0.0",
     "O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.", "Get a substring of the string stored at a key", "RO access;1;0;1", NULL, NULL, "key,key start,integer end,integer", NULL, 0, NULL},
    {"incr", cmd_incr, 2, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "write string fast", "string", "1.0.0",
     "O(1)", "Increment the integer value of a key by one", "RW access update;1;0;1", NULL, NULL, "key,key", NULL, 0, NULL},
    {"decr", cmd_decr, 2, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "write string fast", "string", "1.0.0",
     "O(1)", "Decrement the integer value of a key by one", "RW access update;1;0;1", NULL, NULL, "key,key", NULL, 0, NULL},
    {"incrby", cmd_incrby, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "write string fast", "string", "1.0.0",
     "O(1)", "Increment the integer value of a key by the given amount", "RW access update;1;0;1", NULL, NULL, "key,key increment,integer", NULL, 0, NULL},
    {"decrby", cmd_decrby, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "write string fast", "string", "1.0.0",
     "O(1)", "Decrement the integer value of a key by the given number", "RW access update;1;0;1", NULL, NULL, "key,key decrement,integer", NULL, 0, NULL},
    {"incrbyfloat", cmd_incrbyfloat, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "write string fast", "string", "2.6.0",
     "O(1)", "Increment the float value of a key by the given amount", "RW access update;1;0;1", NULL, NULL, "key,key increment,double", NULL, 0, NULL},
    {"lcs", cmd_lcs, -3, CMD_READONLY, 1, 2, 1, "read string slow", "string", "7.0.0",
     "O(N*M) where N and M are the lengths of s1 and s2, respectively", "Find longest common substring", "RO access;1;1;1", NULL, NULL, "key1,key key2,key len,pure-token,LEN? idx,pure-token,IDX? len,integer,MINMATCHLEN? withmatchlen,pure-token,WITHMATCHLEN?", NULL, 0, NULL},
    {"setbit", cmd_setbit, 4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "write bitmap slow", "bitmap", "2.2.0",
     "O(1)", "Sets or clears the bit at offset in the string value stored at key", "RW access update;1;0;1", NULL, NULL, "key,key offset,integer value,integer", NULL, 0, NULL},
    {"getbit", cmd_getbit, 3, CMD_READONLY | CMD_FAST, 1, 1, 1, "read bitmap fast", "bitmap", "2.2.0",
     "O(1)", "Returns the bit value at offset in the string value stored at key", "RO access;1;0;1", NULL, NULL, "key,key offset,integer", NULL, 0, NULL},
    {"bitcount", cmd_bitcount, -2, CMD_READONLY, 1, 1, 1, "read bitmap slow", "bitmap", "2.6.0",
     "O(N)", "Count set bits in a string", "RO access;1;0;1", NULL, NULL, "key,key index,block?(start,integer end,integer index_unit,oneof?(byte,pure-token,BYTE bit,pure-token,BIT))", NULL, 0, NULL},
    {"bitpos", cmd_bitpos, -3, CMD_READONLY, 1, 1, 1, "read bitmap slow", "bitmap", "2.8.7",
     "O(N)", "Find first bit set or clear in a string", "RO access;1;0;1", NULL, NULL, "key,key bit,integer index,block?(start,integer end_index,block?(end,integer index_unit,oneof?(byte,pure-token,BYTE bit,pure-token,BIT)))", NULL, 0, NULL},
    {"bitop", cmd_bitop, -4, CMD_WRITE | CMD_DENYOOM, 2, -1, 1, "write bitmap slow", "bitmap", "2.6.0",
     "O(N)", "Perform bitwise operations between strings", "OW update;2;0;1|RO access;3;-1;1", NULL, NULL, "operation,string destkey,key key,key*", NULL, 0, NULL},
    {"bitfield", cmd_bitfield, -2, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "write bitmap slow", "bitmap", "3.2.0",
     "O(1) for each subcommand specified", "Perform arbitrary bitfield integer operations on strings", "RW access update variable_flags;1;0;1", "This command allows both access and modification of the key", NULL, "key,key operation,oneof?*(encoding_offset,block,GET(encoding,string offset,integer) write,block(wrap_sat_fail,oneof,OVERFLOW?(wrap,pure-token,WRAP sat,pure-token,SAT fail,pure-token,FAIL) write_operation,oneof(encoding_offset_value,block,SET(encoding,string offset,integer value,integer) encoding_offset_increment,block,INCRBY(encoding,string offset,integer increment,integer))))", NULL, 0, NULL},
    {"bitfield_ro", cmd_bitfield_ro, -2, CMD_READONLY | CMD_FAST, 1, 1, 1, "read bitmap fast", "bitmap", "6.0.0",
     "O(1) for each subcommand specified", "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD", "RO access;1;0;1", NULL, NULL, "key,key encoding_offset,block,GET?*#(encoding,string offset,integer)", NULL, 0, NULL},
    {"del", cmd_del, -2, CMD_WRITE, 1, -1, 1, "keyspace write slow", "generic", "1.0.0",
     "O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1).", "Delete a key", "RM delete;1;-1;1", NULL, "request_policy:multi_shard response_policy:agg_sum", "key,key*", NULL, 0, NULL},
    {"unlink", cmd_unlink, -2, CMD_WRITE | CMD_FAST, 1, -1, 1, "keyspace write fast", "generic", "4.0.0",
     "O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of.", "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.", "RM delete;1;-1;1", NULL, "request_policy:multi_shard response_policy:agg_sum", "key,key*", NULL, 0, NULL},
    {"exists", cmd_exists, -2, CMD_READONLY | CMD_FAST, 1, -1, 1, "keyspace read fast", "generic", "1.0.0",
     "O(N) where N is the number of keys to check.", "Determine if a key exists", "RO;1;-1;1", NULL, "request_policy:multi_shard response_policy:agg_sum", "key,key*", NULL, 0, NULL},
    {"touch", cmd_touch, -2, CMD_READONLY | CMD_FAST, 1, -1, 1, "keyspace read fast", "generic", "3.2.1",
     "O(N) where N is the number of keys that will be touched.", "Alters the last access time of a key(s). Returns the number of existing keys specified.", "RO;1;-1;1", NULL, "request_policy:multi_shard response_policy:agg_sum", "key,key*", NULL, 0, NULL},
    {"type", cmd_type, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "keyspace read fast", "generic", "1.0.0",
     "O(1)", "Determine the type stored at key", "RO;1;0;1", NULL, NULL, "key,key", NULL, 0, NULL},
    {"keys", cmd_keys, 2, CMD_READONLY | CMD_KEYSPACE, 0, 0, 0, "keyspace read slow dangerous", "generic", "1.0.0",
     "O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.", "Find all keys matching the given pattern", NULL, NULL, "request_policy:all_shards nondeterministic_output_order", "pattern,pattern", NULL, 0, NULL},
    {"scan", cmd_scan, -2, CMD_READONLY | CMD_KEYSPACE, 0, 0, 0, "keyspace read slow", "generic", "2.8.0",
     "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.", "Incrementally iterate the keys space", NULL, NULL, "nondeterministic_output request_policy:special", "cursor,integer pattern,pattern,MATCH? count,integer,COUNT? type,string,TYPE?", NULL, 0, NULL},
    {"randomkey", cmd_randomkey, 1, CMD_READONLY | CMD_KEYSPACE, 0, 0, 0, "keyspace read slow", "generic", "1.0.0",
     "O(1)", "Return a random key from the keyspace", NULL, NULL, "request_policy:all_shards nondeterministic_output", NULL, NULL, 0, NULL},
    {"rename", cmd_rename, 3, CMD_WRITE, 1, 2, 1, "keyspace write slow", "generic", "1.0.0",
     "O(1)", "Rename a key", "RW access delete;1;0;1|OW update;2;0;1", NULL, NULL, "key,key newkey,key", NULL, 0, NULL},
    {"renamenx", cmd_renamenx, 3, CMD_WRITE | CMD_FAST, 1, 2, 1, "keyspace write fast", "generic", "1.0.0",
     "O(1)", "Rename a key, only if the new key does not exist", "RW access delete;1;0;1|OW insert;2;0;1", NULL, NULL, "key,key newkey,key", NULL, 0, NULL},
    {"copy", cmd_copy, -3, CMD_WRITE | CMD_DENYOOM, 1, 2, 1, "keyspace write slow", "generic", "6.2.0",
     "O(N) worst case for collections, where N is the number of nested items. O(1) for string values.", "Copy a key", "RO access;1;0;1|OW update;2;0;1", NULL, NULL, "source,key destination,key destination-db,integer,DB? replace,pure-token,REPLACE?", NULL, 0, NULL},
    {"move", cmd_move, 3, CMD_WRITE | CMD_FAST, 1, 1, 1, "keyspace write fast", "generic", "1.0.0",
     "O(1)", "Move a key to another database", "RW access update;1;0;1", NULL, NULL, "key,key db,integer", NULL, 0, NULL},
    {"dbsize", cmd_dbsize, 1, CMD_READONLY | CMD_FAST | CMD_KEYSPACE, 0, 0, 0, "keyspace read fast", "server", "1.0.0",
     "O(1)", "Return the number of keys in the selected database", NULL, NULL, "request_policy:all_shards response_policy:agg_sum", NULL, NULL, 0, NULL},
    {"flushdb", cmd_flushdb, -1, CMD_WRITE | CMD_KEYSPACE, 0, 0, 0, "keyspace write slow dangerous", "server", "1.0.0",
     "O(N) where N is the number of keys in the selected database", "Remove all keys from the current database", NULL, NULL, "request_policy:all_shards response_policy:all_succeeded", "async,oneof?(async,pure-token,ASYNC sync,pure-token,SYNC)", NULL, 0, NULL},
    {"flushall", cmd_flushall, -1, CMD_WRITE | CMD_KEYSPACE, 0, 0, 0, "keyspace write slow dangerous", "server", "1.0.0",
     "O(N) where N is the total number of keys in all databases", "Remove all keys from all databases", NULL, NULL, "request_policy:all_shards response_policy:all_succeeded", "async,oneof?(async,pure-token,ASYNC sync,pure-token,SYNC)", NULL, 0, NULL},
    {"expire", cmd_expire, -3, CMD_WRITE | CMD_FAST, 1, 1, 1, "keyspace write fast", "generic", "1.0.0",
     "O(1)", "Set a key's time to live in seconds", "RW update;1;0;1", NULL, NULL, "key,key seconds,integer condition,oneof?(nx,pure-token,NX xx,pure-token,XX gt,pure-token,GT lt,pure-token,LT)", NULL, 0, NULL},
    {"pexpire", cmd_pexpire, -3, CMD_WRITE | CMD_FAST, 1, 1, 1, "keyspace write fast", "generic", "2.6.0",
     "O(1)", "Set a key's time to live in milliseconds", "RW update;1;0;1", NULL, NULL, "key,key milliseconds,integer condition,oneof?(nx,pure-token,NX xx,pure-token,XX gt,pure-token,GT lt,pure-token,LT)", NULL, 0, NULL},
    {"expireat", cmd_expireat, -3, CMD_WRITE | CMD_FAST, 1, 1, 1, "keyspace write fast", "generic", "1.2.0",
     "O(1)", "Set the expiration for a key as a UNIX timestamp", "RW update;1;0;1", NULL, NULL, "key,key unix-time-seconds,unix-time condition,oneof?(nx,pure-token,NX xx,pure-token,XX gt,pure-token,GT lt,pure-token,LT)", NULL, 0, NULL},
    {"pexpireat", cmd_pexpireat, -3, CMD_WRITE | CMD_FAST, 1, 1, 1, "keyspace write fast", "generic", "2.6.0",
     "O(1)", "Set the expiration for a key as a UNIX timestamp specified in milliseconds", "RW update;1;0;1", NULL, NULL, "key,key unix-time-milliseconds,unix-time condition,oneof?(nx,pure-token,NX xx,pure-token,XX gt,pure-token,GT lt,pure-token,LT)", NULL, 0, NULL},
    {"ttl", cmd_ttl, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "keyspace read fast", "generic", "1.0.0",
     "O(1)", "Get the time to live for a key in seconds", "RO access;1;0;1", NULL, "nondeterministic_output", "key,key", NULL, 0, NULL},
    {"pttl", cmd_pttl, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "keyspace read fast", "generic", "2.6.0",
     "O(1)", "Get the time to live for a key in milliseconds", "RO access;1;0;1", NULL, "nondeterministic_output", "key,key", NULL, 0, NULL},
    {"expiretime", cmd_expiretime, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "keyspace read fast", "generic", "7.0.0",
     "O(1)", "Get the expiration Unix timestamp for a key", "RO access;1;0;1", NULL, NULL, "key,key", NULL, 0, NULL},
    {"pexpiretime", cmd_pexpiretime, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "keyspace read fast", "generic", "7.0.0",
     "O(1)", "Get the expiration Unix timestamp for a key in milliseconds", "RO access;1;0;1", NULL, NULL, "key,key", NULL, 0, NULL},
    {"persist", cmd_persist, 2, CMD_WRITE | CMD_FAST, 1, 1, 1, "keyspace write fast", "generic", "2.2.0",
     "O(1)", "Remove the expiration from a key", "RW update;1;0;1", NULL, NULL, "key,key", NULL, 0, NULL},
    {"object", cmd_object, -2, 0, 0, 0, 0, "slow", "generic", "2.2.3",
     "Depends on subcommand.", "A container for object introspection commands", NULL, NULL, NULL, NULL, object_subs, 0, NULL},
    /* The collection types keep their rows next to each other, one file
     * per type. */
#include "cmdtab_hash.inc"
#include "cmdtab_list.inc"
#include "cmdtab_set.inc"
#include "cmdtab_zset.inc"
#include "cmdtab_sort.inc"
#include "cmdtab_persist.inc"

};

#define NCMDS (sizeof(table) / sizeof(table[0]))
#define INDEX_SIZE 1024 /* power of two, > 2 * NCMDS */
_Static_assert(INDEX_SIZE > 2 * NCMDS, "command index too small");

static const struct command *index_slots[INDEX_SIZE];
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

static unsigned name_hash(const char *s, size_t n)
{
    unsigned h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)(s[i] | 0x20)) * 16777619u;
    return h;
}

static void build_index(void)
{
    for (size_t i = 0; i < NCMDS; i++) {
        unsigned h = name_hash(table[i].name, strlen(table[i].name));
        while (index_slots[h & (INDEX_SIZE - 1)])
            h++;
        index_slots[h & (INDEX_SIZE - 1)] = &table[i];
    }
}

const struct command *cmd_lookup(const char *name, size_t len)
{
    pthread_once(&index_once, build_index);
    if (len == 0 || len > 32)
        return NULL;
    for (unsigned h = name_hash(name, len);; h++) {
        const struct command *c = index_slots[h & (INDEX_SIZE - 1)];
        if (!c)
            return NULL;
        if (strlen(c->name) == len && strncasecmp(c->name, name, len) == 0)
            return c;
    }
}

const struct command *cmd_lookup_sub(const struct command *parent, const char *name, size_t len)
{
    size_t plen = strlen(parent->name) + 1;
    for (const struct command *s = parent->subs; s && s->name; s++)
        if (strlen(s->name) - plen == len && strncasecmp(s->name + plen, name, len) == 0)
            return s;
    return NULL;
}

const struct command *cmd_table(int *n)
{
    *n = (int)NCMDS;
    return table;
}

const char *cmd_fullname(const struct command *cmd) { return cmd->name; }

bool cmd_every_shard(const struct command *cmd, int argc, const struct resp_arg *argv)
{
    bool every = false;
    int idx[4];
    if (cmd->getkeys)
        cmd->getkeys(argc, argv, idx, 4, &every);
    return every || (cmd->flags & CMD_KEYSPACE);
}

int cmd_key_args(const struct command *cmd, int argc, const struct resp_arg *argv, int *idx, int max)
{
    bool every;
    if (cmd->getkeys)
        return cmd->getkeys(argc, argv, idx, max, &every);
    int n = 0;
    if (cmd->first_key > 0) {
        int last = cmd->last_key < 0 ? argc + cmd->last_key : cmd->last_key;
        for (int i = cmd->first_key; i <= last && i < argc && n < max; i += cmd->key_step)
            idx[n++] = i;
    }
    long long nk;
    if (cmd->numkeys > 0 && cmd->numkeys < argc &&
        resp_parse_ll(argv[cmd->numkeys].ptr, argv[cmd->numkeys].len, &nk) && nk > 0 &&
        nk < argc - cmd->numkeys)
        for (int i = cmd->numkeys + 1; i <= cmd->numkeys + nk && n < max; i++)
            idx[n++] = i;
    return n;
}
