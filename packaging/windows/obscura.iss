; Inno Setup script for the Obscura workstation installer (Windows x64).
; Build the PyInstaller bundle first (see BUILD.md), then from the repository root:
;     iscc packaging\windows\obscura.iss
; or  iscc /DAppVersion=0.1.0 /DBundleDir=dist\obscura packaging\windows\obscura.iss
; Output: dist\installer\obscura-<version>-setup.exe
; Not built or run on the Linux build machines of this repository: reviewed by hand.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#ifndef BundleDir
  #define BundleDir "..\..\dist\obscura"
#endif
#define AppName "Obscura"
#define AppExe "obscura.exe"

[Setup]
; A fixed AppId keeps upgrades and the uninstaller tied to one product: never change it.
AppId={{6B0E0F3C-5D1A-4C8E-9B7F-0B5C3E2A9D41}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=Obscura
DefaultDirName={autopf}\Obscura
DefaultGroupName=Obscura
DisableProgramGroupPage=yes
OutputDir=..\..\dist\installer
OutputBaseFilename=obscura-{#AppVersion}-setup
Compression=lzma2/max
SolidCompression=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0.17763
; per-machine install by default (IT deploys it); an operator without admin rights may choose per-user
PrivilegesRequired=admin
PrivilegesRequiredOverridesAllowed=dialog
ChangesAssociations=yes
ChangesEnvironment=yes
UninstallDisplayIcon={app}\{#AppExe}
WizardStyle=modern
#ifexist "obscura.ico"
SetupIconFile=obscura.ico
#endif

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "addtopath"; Description: "Add the 'obscura' command to PATH (for the command line and batch jobs)"; Flags: unchecked
Name: "assocproject"; Description: "Open Obscura projects (*.obscura.json) with Obscura"

[Files]
; the whole one-folder bundle: obscura.exe, _internal\ (Python, Qt, ONNX Runtime, models)
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\Obscura"; Filename: "{app}\{#AppExe}"; Parameters: "edit"
Name: "{autodesktop}\Obscura"; Filename: "{app}\{#AppExe}"; Parameters: "edit"; Tasks: desktopicon

[Registry]
; *.obscura.json: Windows associates by the last extension (.json), so the association is offered
; through "Open with" (OpenWithProgids on .json) rather than taking over every .json file.
Root: HKA; Subkey: "Software\Classes\Obscura.Project"; ValueType: string; ValueName: ""; ValueData: "Obscura project"; Flags: uninsdeletekey; Tasks: assocproject
Root: HKA; Subkey: "Software\Classes\Obscura.Project\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#AppExe},0"; Tasks: assocproject
Root: HKA; Subkey: "Software\Classes\Obscura.Project\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" edit ""%1"""; Tasks: assocproject
Root: HKA; Subkey: "Software\Classes\.json\OpenWithProgids"; ValueType: string; ValueName: "Obscura.Project"; ValueData: ""; Flags: uninsdeletevalue; Tasks: assocproject
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".mp4"; ValueData: ""; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".mov"; ValueData: ""
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".mkv"; ValueData: ""
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: ".json"; ValueData: ""
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" edit ""%1"""

[Run]
; hash-check the bundled models once at the end of setup (the product checks them again before loading)
Filename: "{app}\{#AppExe}"; Parameters: "models verify"; StatusMsg: "Checking the detection models..."; Flags: runhidden waituntilterminated
Filename: "{app}\{#AppExe}"; Parameters: "edit"; Description: "{cm:LaunchProgram,Obscura}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; only what the installed program itself may write inside {app}; the per-user data folder
; (%LOCALAPPDATA%\obscura: logs, autosave) belongs to the user and is kept
Type: filesandordirs; Name: "{app}\_internal\__pycache__"

[Code]
const
  EnvKey = 'SYSTEM\CurrentControlSet\Control\Session Manager\Environment';

function PathRoot: Integer;
begin
  if IsAdminInstallMode then Result := HKEY_LOCAL_MACHINE else Result := HKEY_CURRENT_USER;
end;

function PathKey: String;
begin
  if IsAdminInstallMode then Result := EnvKey else Result := 'Environment';
end;

procedure AddToPath(Dir: String);
var
  Paths: String;
begin
  if not RegQueryStringValue(PathRoot, PathKey, 'Path', Paths) then Paths := '';
  if Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Paths) + ';') > 0 then exit;
  if (Paths <> '') and (Copy(Paths, Length(Paths), 1) <> ';') then Paths := Paths + ';';
  RegWriteExpandStringValue(PathRoot, PathKey, 'Path', Paths + Dir);
end;

procedure RemoveFromPath(Dir: String);
var
  Paths: String;
  P: Integer;
begin
  if not RegQueryStringValue(PathRoot, PathKey, 'Path', Paths) then exit;
  P := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Paths) + ';');
  if P = 0 then exit;
  { P: where Dir starts in Paths (the padded string has one extra leading ';') }
  if P > 1 then
    Delete(Paths, P - 1, Length(Dir) + 1)  { the ';' before it, and Dir }
  else
    Delete(Paths, 1, Length(Dir) + 1);     { Dir first: Dir and the ';' after it }
  RegWriteExpandStringValue(PathRoot, PathKey, 'Path', Paths);
end;

procedure CurStepChanged(CurStep: TSetupStep);
begin
  if (CurStep = ssPostInstall) and WizardIsTaskSelected('addtopath') then
    AddToPath(ExpandConstant('{app}'));
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  if CurUninstallStep = usPostUninstall then
    RemoveFromPath(ExpandConstant('{app}'));
end;
