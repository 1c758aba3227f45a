#include "agent/commands.h"
int cmd_dashboard(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return 2;
}
