@echo off
rem Installs chatgpt-bridge on Windows, then runs what you ask:
rem   install.bat            install only
rem   install.bat login      install, then log in to ChatGPT once in the window that opens
rem   install.bat demo       install, then the offline demo (no account needed)
rem   install.bat serve      install, then the bridge itself
rem   install.bat test       install, then lint and the test suite
rem Needs Python 3.10+ from python.org (tick "Add python.exe to PATH") or the Microsoft Store.
setlocal
cd /d "%~dp0"

where python >nul 2>nul
if errorlevel 1 (
    echo Python 3 was not found. Install it from https://www.python.org/downloads/ and run this again.
    exit /b 1
)

where poetry >nul 2>nul
if errorlevel 1 (
    echo ==^> installing Poetry
    python -m pip install --user --quiet poetry || exit /b 1
    for /f "delims=" %%p in ('python -c "import sysconfig; print(sysconfig.get_path('scripts', 'nt_user'))"') do set "PATH=%%p;%PATH%"
)

echo ==^> installing the locked dependencies
poetry config virtualenvs.in-project true --local || exit /b 1
poetry install --quiet || exit /b 1

rem The bridge prefers your installed Google Chrome (set BROWSER_CHANNEL=chrome); Playwright's
rem Chromium is the fallback and what the tests use.
echo ==^> installing Playwright's Chromium
poetry run playwright install chromium || exit /b 1

if "%~1"=="" (
    echo ==^> installed. Try: install.bat demo
    exit /b 0
)
if /i "%~1"=="test" (
    poetry run ruff check . || exit /b 1
    poetry run pytest
    exit /b %errorlevel%
)
poetry run chatgpt-bridge %*
exit /b %errorlevel%
