<#
.SYNOPSIS
    Collects the evidence rdpdoctor needs to explain a failing Remote Desktop connection into
    one zip file.

.DESCRIPTION
    Run this on the RDP server (or on the client machine) in an elevated PowerShell. It gathers
    only what rdpdoctor reads, nothing else:

      * Event logs, exported with wevtutil and limited to the last -Days days:
          - System: only the TermService / RemoteConnectionManager, Schannel and LsaSrv events
          - Security: only logons and RDP access events (4624, 4625, 4740, 4778, 4779, 4825)
          - TerminalServices-RemoteConnectionManager/Operational
          - TerminalServices-LocalSessionManager/Operational
          - RemoteDesktopServices-RdpCoreTS/Operational
          - TerminalServices-RDPClient/Operational (client side)
      * Registry exports (reg export): the Terminal Server key (listener settings), SCHANNEL
        protocols, the Remote Desktop Group Policy keys, the CredSSP policy, the SSL cipher
        suite order, FIPS policy and the computer name.
      * The RDP certificate: the public part only (.cer) of every certificate in
        Cert:\LocalMachine\Remote Desktop and of the certificate SSLCertificateSHA1Hash names.
        Private keys are never exported.
      * Optionally .rdp connection files (-RdpFile), with any saved password removed.
      * rdpdoctor-manifest.json: the computer's name, FQDN and addresses (so rdpdoctor can tie
        the bundle to the server you check), the time window and what could not be collected.

    Then, on any machine:  rdpdoctor analyze .\rdpdoctor-SERVER01-20250101-0914.zip
    or with a live check:  rdpdoctor check server01 --evidence .\rdpdoctor-SERVER01-....zip

    The zip contains user names and client IP addresses from the logs. Share it like any other
    log file.

.PARAMETER OutputPath
    The zip to write. Default: rdpdoctor-<COMPUTER>-<yyyyMMdd-HHmm>.zip in the current folder.

.PARAMETER Days
    How many days of events to export (default 7). 0 exports the whole logs.

.PARAMETER RdpFile
    .rdp connection files to include (lines with saved passwords are removed from the copy).

.PARAMETER IncludeUserRdpFiles
    Also include the current user's Default.rdp and the .rdp files in their Documents folder.

.EXAMPLE
    .\collect.ps1
    Collects the last 7 days on this server into .\rdpdoctor-SERVER01-20250101-0914.zip.

.EXAMPLE
    .\collect.ps1 -Days 2 -OutputPath C:\Temp\rdp-evidence.zip

.EXAMPLE
    .\collect.ps1 -RdpFile C:\Users\alice\Desktop\server01.rdp -IncludeUserRdpFiles
    On a client machine: its client logs, CredSSP policy and connection files.

.NOTES
    Requires Windows PowerShell 5.1 or PowerShell 7 on Windows, run as Administrator (the
    Security log and the machine certificate store need it). Nothing is changed on the machine.
    Licence: MIT OR Apache-2.0, part of rdpdoctor.
#>
[CmdletBinding()]
param(
    [string]$OutputPath,
    [ValidateRange(0, 3650)]
    [int]$Days = 7,
    [string[]]$RdpFile = @(),
    [switch]$IncludeUserRdpFiles
)

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    throw 'collect.ps1 must run as Administrator (the Security log and the machine certificate store need it).'
}

$computer = $env:COMPUTERNAME
$stamp = (Get-Date).ToString('yyyyMMdd-HHmm')
if (-not $OutputPath) {
    $OutputPath = Join-Path (Get-Location) "rdpdoctor-$computer-$stamp.zip"
}
$OutputPath = [IO.Path]::GetFullPath($OutputPath)

$staging = Join-Path ([IO.Path]::GetTempPath()) "rdpdoctor-$computer-$stamp-$PID"
New-Item -ItemType Directory -Path $staging -Force | Out-Null
foreach ($sub in 'logs', 'registry', 'certificates', 'rdp') {
    New-Item -ItemType Directory -Path (Join-Path $staging $sub) -Force | Out-Null
}

$files = New-Object System.Collections.Generic.List[object]
$problems = New-Object System.Collections.Generic.List[string]

function Add-Problem([string]$what) {
    $problems.Add($what)
    Write-Warning $what
}

# ---- event logs ------------------------------------------------------------------------------

# XPath time filter: events newer than -Days days (timediff is in milliseconds).
$timeFilter = ''
if ($Days -gt 0) {
    $ms = [int64]$Days * 24 * 3600 * 1000
    $timeFilter = "TimeCreated[timediff(@SystemTime) <= $ms]"
}

function Join-Filter([string[]]$parts) {
    $parts = @($parts | Where-Object { $_ })
    if ($parts.Count -eq 0) { return '*' }
    return '*[System[' + ($parts -join ' and ') + ']]'
}

$systemProviders = @(
    'Microsoft-Windows-TerminalServices-RemoteConnectionManager', 'TermService', 'Schannel', 'LsaSrv'
) | ForEach-Object { "@Name='$_'" }
$securityIds = @(4624, 4625, 4740, 4778, 4779, 4825) | ForEach-Object { "EventID=$_" }

$logs = @(
    @{ Channel = 'System'; File = 'System.evtx';
       Query = (Join-Filter @("Provider[$($systemProviders -join ' or ')]", $timeFilter)) },
    @{ Channel = 'Security'; File = 'Security.evtx';
       Query = (Join-Filter @("($($securityIds -join ' or '))", $timeFilter)) },
    @{ Channel = 'Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational';
       File = 'RemoteConnectionManager-Operational.evtx'; Query = (Join-Filter @($timeFilter)) },
    @{ Channel = 'Microsoft-Windows-TerminalServices-LocalSessionManager/Operational';
       File = 'LocalSessionManager-Operational.evtx'; Query = (Join-Filter @($timeFilter)) },
    @{ Channel = 'Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational';
       File = 'RdpCoreTS-Operational.evtx'; Query = (Join-Filter @($timeFilter)) },
    @{ Channel = 'Microsoft-Windows-TerminalServices-RDPClient/Operational';
       File = 'RDPClient-Operational.evtx'; Query = (Join-Filter @($timeFilter)) }
)

foreach ($log in $logs) {
    $target = Join-Path $staging "logs\$($log.File)"
    & wevtutil.exe gl "$($log.Channel)" *> $null
    if ($LASTEXITCODE -ne 0) {
        Add-Problem "event log $($log.Channel) does not exist on this machine"
        continue
    }
    & wevtutil.exe epl "$($log.Channel)" "$target" "/q:$($log.Query)" /ow:true
    if ($LASTEXITCODE -ne 0) {
        Add-Problem "wevtutil could not export $($log.Channel) (exit code $LASTEXITCODE)"
        continue
    }
    $files.Add([ordered]@{ path = "logs/$($log.File)"; kind = 'evtx'; channel = $log.Channel })
}

# ---- registry ----------------------------------------------------------------------------------

$keys = @(
    @{ Key = 'HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server'; File = 'TerminalServer.reg' },
    @{ Key = 'HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL'; File = 'SCHANNEL.reg' },
    @{ Key = 'HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services'; File = 'TerminalServicesPolicy.reg' },
    @{ Key = 'HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System\CredSSP'; File = 'CredSSP.reg' },
    @{ Key = 'HKLM\SOFTWARE\Policies\Microsoft\Cryptography\Configuration\SSL'; File = 'CipherSuitePolicy.reg' },
    @{ Key = 'HKLM\SYSTEM\CurrentControlSet\Control\Cryptography\Configuration\Local\SSL'; File = 'CipherSuiteLocal.reg' },
    @{ Key = 'HKLM\SYSTEM\CurrentControlSet\Control\Lsa\FIPSAlgorithmPolicy'; File = 'FIPS.reg' },
    @{ Key = 'HKLM\SYSTEM\CurrentControlSet\Control\ComputerName\ComputerName'; File = 'ComputerName.reg' }
)

foreach ($k in $keys) {
    $target = Join-Path $staging "registry\$($k.File)"
    & reg.exe export "$($k.Key)" "$target" /y *> $null
    if ($LASTEXITCODE -ne 0) {
        # Policy keys are often absent: that is information too (not configured).
        Add-Problem "registry key $($k.Key) not present (not configured)"
        continue
    }
    $files.Add([ordered]@{ path = "registry/$($k.File)"; kind = 'reg'; key = $k.Key })
}

# ---- certificates (public part only) -----------------------------------------------------------

$exported = @{}
function Export-PublicCertificate($cert, [string]$why) {
    $thumb = $cert.Thumbprint.ToUpperInvariant()
    if ($exported.ContainsKey($thumb)) { return }
    $name = "certificates/$thumb.cer"
    # Export-Certificate -Type CERT writes the DER certificate, never the private key.
    Export-Certificate -Cert $cert -FilePath (Join-Path $staging $name) -Type CERT | Out-Null
    $exported[$thumb] = $true
    $files.Add([ordered]@{ path = $name; kind = 'certificate'; thumbprint = $thumb; why = $why;
        subject = $cert.Subject; not_after = $cert.NotAfter.ToUniversalTime().ToString('o') })
}

try {
    Get-ChildItem -Path 'Cert:\LocalMachine\Remote Desktop' -ErrorAction Stop |
        ForEach-Object { Export-PublicCertificate $_ 'Cert:\LocalMachine\Remote Desktop' }
} catch {
    Add-Problem "cannot read Cert:\LocalMachine\Remote Desktop: $($_.Exception.Message)"
}

$configured = $null
try {
    $value = (Get-ItemProperty -Path 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp' -ErrorAction Stop).SSLCertificateSHA1Hash
    if ($value) { $configured = (($value | ForEach-Object { $_.ToString('X2') }) -join '') }
} catch {
    # The value is absent when the self-signed certificate is used.
}

$listenerThumbprint = $null
try {
    $ts = Get-CimInstance -Namespace 'root\cimv2\TerminalServices' -ClassName Win32_TSGeneralSetting -Filter "TerminalName='RDP-Tcp'" -ErrorAction Stop
    if ($ts.SSLCertificateSHA1Hash) { $listenerThumbprint = $ts.SSLCertificateSHA1Hash.ToUpperInvariant() }
} catch {
    Add-Problem "cannot query Win32_TSGeneralSetting: $($_.Exception.Message)"
}

foreach ($thumb in @($configured, $listenerThumbprint) | Where-Object { $_ } | Select-Object -Unique) {
    $found = $false
    foreach ($store in 'Cert:\LocalMachine\My', 'Cert:\LocalMachine\Remote Desktop') {
        $path = Join-Path $store $thumb
        if (Test-Path -LiteralPath $path) {
            Export-PublicCertificate (Get-Item -LiteralPath $path) "listener certificate ($store)"
            $found = $true
            break
        }
    }
    if (-not $found) {
        Add-Problem "the listener certificate $thumb is in neither LocalMachine\My nor LocalMachine\Remote Desktop"
    }
}

# ---- .rdp files (saved passwords removed) ------------------------------------------------------

$rdpSources = @($RdpFile)
if ($IncludeUserRdpFiles) {
    $docs = [Environment]::GetFolderPath('MyDocuments')
    $rdpSources += @(Get-ChildItem -Path $docs -Filter '*.rdp' -File -ErrorAction SilentlyContinue |
        Select-Object -ExpandProperty FullName)
}
$i = 0
foreach ($src in $rdpSources | Where-Object { $_ } | Select-Object -Unique) {
    if (-not (Test-Path -LiteralPath $src -PathType Leaf)) {
        Add-Problem ".rdp file $src not found"
        continue
    }
    $i++
    $name = "rdp/$i-$([IO.Path]::GetFileName($src))"
    $lines = Get-Content -LiteralPath $src | Where-Object { $_ -notmatch '^\s*[^:]*password[^:]*:' }
    # Unicode = UTF-16LE with a BOM, as mstsc writes .rdp files.
    Set-Content -LiteralPath (Join-Path $staging $name) -Value $lines -Encoding Unicode
    $files.Add([ordered]@{ path = $name; kind = 'rdp'; source = $src })
}

# ---- manifest and zip --------------------------------------------------------------------------

$fqdn = $computer
try { $fqdn = [System.Net.Dns]::GetHostEntry('').HostName } catch { }
$cs = Get-CimInstance -ClassName Win32_ComputerSystem
$os = Get-CimInstance -ClassName Win32_OperatingSystem
$addresses = @()
try {
    $addresses = @(Get-NetIPAddress -ErrorAction Stop |
        Where-Object { $_.IPAddress -notmatch '^(127\.|::1$|fe80:|169\.254\.)' } |
        Select-Object -ExpandProperty IPAddress)
} catch {
    Add-Problem "cannot list IP addresses: $($_.Exception.Message)"
}

$manifest = [ordered]@{
    tool                           = 'rdpdoctor collect.ps1'
    format                         = 1
    computer                       = $computer
    fqdn                           = $fqdn
    domain                         = $cs.Domain
    addresses                      = $addresses
    role                           = $(if ($os.ProductType -eq 1) { 'workstation' } else { 'server' })
    os                             = "$($os.Caption) $($os.Version)"
    collected_at                   = (Get-Date).ToUniversalTime().ToString('o')
    days                           = $Days
    listener_certificate_thumbprint = $listenerThumbprint
    configured_certificate_thumbprint = $configured
    files                          = $files
    problems                       = $problems
}
$manifest | ConvertTo-Json -Depth 5 |
    Set-Content -LiteralPath (Join-Path $staging 'rdpdoctor-manifest.json') -Encoding UTF8

if (Test-Path -LiteralPath $OutputPath) { Remove-Item -LiteralPath $OutputPath -Force }
Compress-Archive -Path (Join-Path $staging '*') -DestinationPath $OutputPath -CompressionLevel Optimal
Remove-Item -LiteralPath $staging -Recurse -Force

Write-Host "Evidence written to $OutputPath ($($files.Count) files, $($problems.Count) notes)."
Write-Host "Analyze it with:  rdpdoctor analyze `"$OutputPath`""
