/* userfaultfd definitions newer than Debian 12's 6.1 headers, guarded so that
 * newer system headers win. UFFD_USER_MODE_ONLY is 5.11, WP_UNPOPULATED 6.4,
 * WP_ASYNC 6.7. */
#ifndef WRITEWATCH_UAPI_USERFAULTFD_WP_H
#define WRITEWATCH_UAPI_USERFAULTFD_WP_H

#include <linux/userfaultfd.h>

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif

#endif
