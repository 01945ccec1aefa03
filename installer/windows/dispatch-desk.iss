; Inno Setup script for Windows 10/11 dispatcher PCs, from PyInstaller's dist\dispatch-desk\.
; NOT BUILT OR TESTED: these machines have no Windows. See installer/README.md for what must
; be checked there (keyring backend, fonts, printing) before it is used.
;
;   iscc installer\windows\dispatch-desk.iss      -> installer\windows\Output\dispatch-desk-setup.exe
;
; Uninstalling removes {app} only: journals live in %LOCALAPPDATA%\dispatch-desk (per user) and
; are never touched, like the Debian package.

#define AppVersion "0.1.0"   ; keep equal to app/__init__.py

[Setup]
AppId={{6F2C4B1E-8D3A-4E5F-9A7B-D15A7C0DE5C1}
AppName=Dispatch Desk
AppVersion={#AppVersion}
DefaultDirName={autopf}\Dispatch Desk
DefaultGroupName=Dispatch Desk
OutputBaseFilename=dispatch-desk-setup-{#AppVersion}
Compression=lzma2
SolidCompression=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
PrivilegesRequiredOverridesAllowed=dialog

[Files]
Source: "..\..\dist\dispatch-desk\*"; DestDir: "{app}"; Flags: recursesubdirs ignoreversion

[Icons]
; The window without a console; the wallboard as a second entry.
Name: "{group}\Dispatch Desk"; Filename: "{app}\dispatch-desk.exe"; Flags: runminimized
Name: "{group}\Dispatch Desk wallboard"; Filename: "{app}\dispatch-desk.exe"; Parameters: "--wallboard"; Flags: runminimized
Name: "{group}\Dispatch Desk demo"; Filename: "{app}\dispatch-desk.exe"; Parameters: "--demo"; Flags: runminimized

[Registry]
; `dispatch-desk` on PATH for the command line (admins, scripts).
Root: HKA; Subkey: "Environment"; ValueType: expandsz; ValueName: "Path"; ValueData: "{olddata};{app}"; Check: NeedsAddPath(ExpandConstant('{app}'))

[Code]
function NeedsAddPath(Dir: string): Boolean;
var
  Path: string;
begin
  if not RegQueryStringValue(HKA, 'Environment', 'Path', Path) then
    Path := '';
  Result := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Path) + ';') = 0;
end;
