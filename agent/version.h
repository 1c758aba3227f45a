#ifndef CW_VERSION_H
#define CW_VERSION_H
#define CWAGENT_VERSION "0.1.0"
#endif
