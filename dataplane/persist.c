/* Persistence: RDB snapshots (and later the append-only file).
 *
 * The hooks the rest of sluiced calls; see server.h. Filled in by the
 * persistence work: until then nothing is saved or loaded.
 */
#include "commands.h"
#include "server.h"

void persist_init(void) {}

int persist_load_at_start(void) { return 0; }

void persist_cron(struct worker *w) { (void)w; }

bool persist_shutdown(struct cmd_ctx *c, bool save)
{
    (void)c;
    (void)save;
    return true;
}

void persist_at_signal_exit(void) {}

bool persist_debug(struct cmd_ctx *c)
{
    (void)c;
    return false;
}
