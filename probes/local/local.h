/* Checks of this host itself: services, configuration, host name, disk. */
#pragma once

#include "probe.h"

int check_service_postfix(const CheckContext *ctx, FindingList *out);
int check_service_dovecot(const CheckContext *ctx, FindingList *out);
int check_config_postfix(const CheckContext *ctx, FindingList *out);
int check_config_dovecot(const CheckContext *ctx, FindingList *out);
int check_config_relay(const CheckContext *ctx, FindingList *out);
int check_config_domains(const CheckContext *ctx, FindingList *out);
int check_config_tables(const CheckContext *ctx, FindingList *out);
int check_config_sasl(const CheckContext *ctx, FindingList *out);
int check_cert_files(const CheckContext *ctx, FindingList *out);
int check_system_hostname(const CheckContext *ctx, FindingList *out);
int check_system_disk(const CheckContext *ctx, FindingList *out);
