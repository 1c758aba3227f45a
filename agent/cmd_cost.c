#include "agent/commands.h"
int cmd_cost(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return 2;
}
