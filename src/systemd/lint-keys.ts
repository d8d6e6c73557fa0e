/**
 * The [Unit], [Service] and [Install] keys systemd knows, for when `systemd-analyze` is not there to ask.
 * The 252 lists are the output of `/lib/systemd/systemd --dump-configuration-items` of systemd 252.38
 * (Debian 12); the later additions are the keys hermes's units or common units use, with the version that
 * brought them. A key in neither is unknown to every systemd this list describes (usually a typo).
 */

const words = (text: string): ReadonlySet<string> => new Set(text.trim().split(/\s+/));

export const KEYS_252: Readonly<Record<string, ReadonlySet<string>>> = {
  Unit: words(`
    Description Documentation SourcePath Requires Requisite Wants BindsTo BindTo Upholds Conflicts Before
    After OnSuccess OnFailure PropagatesReloadTo PropagateReloadTo ReloadPropagatedFrom PropagateReloadFrom
    PropagatesStopTo StopPropagatedFrom PartOf JoinsNamespaceOf RequiresOverridable RequisiteOverridable
    RequiresMountsFor StopWhenUnneeded RefuseManualStart RefuseManualStop AllowIsolate DefaultDependencies
    OnSuccessJobMode OnFailureJobMode OnFailureIsolate IgnoreOnIsolate JobTimeoutSec JobRunningTimeoutSec
    JobTimeoutAction JobTimeoutRebootArgument StartLimitIntervalSec StartLimitInterval StartLimitBurst
    StartLimitAction FailureAction SuccessAction FailureActionExitStatus SuccessActionExitStatus
    RebootArgument ConditionPathExists ConditionPathExistsGlob ConditionPathIsDirectory
    ConditionPathIsSymbolicLink ConditionPathIsMountPoint ConditionPathIsReadWrite ConditionPathIsEncrypted
    ConditionDirectoryNotEmpty ConditionFileNotEmpty ConditionFileIsExecutable ConditionNeedsUpdate
    ConditionFirstBoot ConditionArchitecture ConditionFirmware ConditionVirtualization ConditionHost
    ConditionKernelCommandLine ConditionKernelVersion ConditionCredential ConditionSecurity
    ConditionCapability ConditionACPower ConditionMemory ConditionCPUFeature ConditionCPUs
    ConditionEnvironment ConditionUser ConditionGroup ConditionControlGroupController ConditionOSRelease
    ConditionMemoryPressure ConditionCPUPressure ConditionIOPressure AssertPathExists AssertPathExistsGlob
    AssertPathIsDirectory AssertPathIsSymbolicLink AssertPathIsMountPoint AssertPathIsReadWrite
    AssertPathIsEncrypted AssertDirectoryNotEmpty AssertFileNotEmpty AssertFileIsExecutable
    AssertNeedsUpdate AssertFirstBoot AssertArchitecture AssertVirtualization AssertHost
    AssertKernelCommandLine AssertKernelVersion AssertCredential AssertSecurity AssertCapability
    AssertACPower AssertMemory AssertCPUFeature AssertCPUs AssertEnvironment AssertUser AssertGroup
    AssertControlGroupController AssertOSRelease AssertMemoryPressure AssertCPUPressure AssertIOPressure
    CollectMode
  `),
  Service: words(`
    PIDFile ExecCondition ExecStartPre ExecStart ExecStartPost ExecReload ExecStop ExecStopPost RestartSec
    TimeoutSec TimeoutStartSec TimeoutStopSec TimeoutAbortSec TimeoutStartFailureMode
    TimeoutStopFailureMode RuntimeMaxSec RuntimeRandomizedExtraSec WatchdogSec StartLimitInterval
    StartLimitBurst StartLimitAction FailureAction RebootArgument Type ExitType Restart
    PermissionsStartOnly RootDirectoryStartOnly RemainAfterExit GuessMainPID RestartPreventExitStatus
    RestartForceExitStatus SuccessExitStatus NonBlocking BusName FileDescriptorStoreMax NotifyAccess
    Sockets USBFunctionDescriptors USBFunctionStrings OOMPolicy WorkingDirectory RootDirectory RootImage
    RootImageOptions RootHash RootHashSignature RootVerity ExtensionDirectories ExtensionImages MountImages
    User Group SupplementaryGroups Nice OOMScoreAdjust CoredumpFilter IOSchedulingClass
    IOSchedulingPriority CPUSchedulingPolicy CPUSchedulingPriority CPUSchedulingResetOnFork CPUAffinity
    NUMAPolicy NUMAMask UMask Environment EnvironmentFile PassEnvironment UnsetEnvironment DynamicUser
    RemoveIPC StandardInput StandardOutput StandardError StandardInputText StandardInputData TTYPath
    TTYReset TTYVHangup TTYVTDisallocate TTYRows TTYColumns SyslogIdentifier SyslogFacility SyslogLevel
    SyslogLevelPrefix LogLevelMax LogRateLimitIntervalSec LogRateLimitBurst LogExtraFields SecureBits
    CapabilityBoundingSet AmbientCapabilities TimerSlackNSec NoNewPrivileges KeyringMode ProtectProc
    ProcSubset SystemCallFilter SystemCallArchitectures SystemCallErrorNumber SystemCallLog
    MemoryDenyWriteExecute RestrictNamespaces RestrictRealtime RestrictSUIDSGID RestrictAddressFamilies
    LockPersonality RestrictFileSystems LimitCPU LimitFSIZE LimitDATA LimitSTACK LimitCORE LimitRSS
    LimitNOFILE LimitAS LimitNPROC LimitMEMLOCK LimitLOCKS LimitSIGPENDING LimitMSGQUEUE LimitNICE
    LimitRTPRIO LimitRTTIME ReadWriteDirectories ReadOnlyDirectories InaccessibleDirectories ReadWritePaths
    ReadOnlyPaths InaccessiblePaths ExecPaths NoExecPaths ExecSearchPath BindPaths BindReadOnlyPaths
    TemporaryFileSystem PrivateTmp PrivateDevices ProtectKernelTunables ProtectKernelModules
    ProtectKernelLogs ProtectClock ProtectControlGroups NetworkNamespacePath IPCNamespacePath LogNamespace
    PrivateNetwork PrivateUsers PrivateMounts PrivateIPC ProtectSystem ProtectHome MountFlags MountAPIVFS
    Personality RuntimeDirectoryPreserve RuntimeDirectoryMode RuntimeDirectory StateDirectoryMode
    StateDirectory CacheDirectoryMode CacheDirectory LogsDirectoryMode LogsDirectory
    ConfigurationDirectoryMode ConfigurationDirectory SetCredential SetCredentialEncrypted LoadCredential
    LoadCredentialEncrypted TimeoutCleanSec PAMName IgnoreSIGPIPE UtmpIdentifier UtmpMode SELinuxContext
    AppArmorProfile SmackProcessLabel ProtectHostname Slice AllowedCPUs StartupAllowedCPUs
    AllowedMemoryNodes StartupAllowedMemoryNodes CPUAccounting CPUWeight StartupCPUWeight CPUShares
    StartupCPUShares CPUQuota CPUQuotaPeriodSec MemoryAccounting MemoryMin DefaultMemoryMin
    DefaultMemoryLow MemoryLow MemoryHigh MemoryMax MemorySwapMax MemoryLimit DeviceAllow DevicePolicy
    IOAccounting IOWeight StartupIOWeight IODeviceWeight IOReadBandwidthMax IOWriteBandwidthMax
    IOReadIOPSMax IOWriteIOPSMax IODeviceLatencyTargetSec BlockIOAccounting BlockIOWeight
    StartupBlockIOWeight BlockIODeviceWeight BlockIOReadBandwidth BlockIOWriteBandwidth TasksAccounting
    TasksMax Delegate DisableControllers IPAccounting IPAddressAllow IPAddressDeny IPIngressFilterPath
    IPEgressFilterPath ManagedOOMSwap ManagedOOMMemoryPressure ManagedOOMMemoryPressureLimit
    ManagedOOMPreference BPFProgram SocketBindAllow SocketBindDeny RestrictNetworkInterfaces SendSIGKILL
    SendSIGHUP KillMode KillSignal RestartKillSignal FinalKillSignal WatchdogSignal
  `),
  Install: words(`
    Alias WantedBy RequiredBy Also DefaultInstance
  `),
};

/** Keys added after systemd 252, by section, with the version that knows them. */
export const LATER_KEYS: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  Unit: { SurviveFinalKillSignal: 255, WantsMountsFor: 256 },
  Service: {
    OpenFile: 253,
    ReloadSignal: 253,
    LogFilterPatterns: 253,
    MemoryZSwapMax: 253,
    RestartMode: 254,
    RestartSteps: 254,
    RestartMaxDelaySec: 254,
    MemoryKSM: 254,
    MemoryPressureWatch: 254,
    MemoryPressureThresholdSec: 254,
    NFTSet: 254,
    RootEphemeral: 254,
    ImportCredential: 254,
    DelegateSubgroup: 254,
    SetLoginEnvironment: 255,
    CoredumpReceive: 255,
    MemoryZSwapWriteback: 256,
    PrivatePIDs: 257,
  },
  Install: {},
};

export type KeyVerdict = { known: true } | { known: false; since?: number };

/**
 * Whether systemd `version` (null: unknown, so every listed key is taken as known) knows `Section.Key`.
 * `X-` keys and sections are the user's own and always accepted, as systemd does.
 */
export function knowsKey(section: string, key: string, version: number | null): KeyVerdict {
  if (section.startsWith("X-") || key.startsWith("X-")) return { known: true };
  if (KEYS_252[section]?.has(key)) return { known: true };
  const since = LATER_KEYS[section]?.[key];
  if (since === undefined) return { known: false };
  return version === null || version >= since ? { known: true } : { known: false, since };
}

/** The systemd version that brought a key newer than 252, if it is one hermes knows of. */
export function keySince(section: string, key: string): number | undefined {
  return LATER_KEYS[section]?.[key];
}

export function knowsSection(section: string): boolean {
  return section in KEYS_252 || section.startsWith("X-");
}

/** Every key of a section, for "did you mean". */
export function keysOf(section: string): string[] {
  return [...(KEYS_252[section] ?? []), ...Object.keys(LATER_KEYS[section] ?? {})];
}
