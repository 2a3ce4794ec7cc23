"""The standard activity library: programs, data, files, notification.

Kept apart from the runbook-control core (``initialize_data``, ``junction``…)
so the pack's ``ACTIVITIES`` is the core list plus this one.
"""

from __future__ import annotations

from activities.database import query_database
from activities.dates import format_date_time
from activities.files import (
    copy_file,
    create_folder,
    delete_file,
    delete_folder,
    get_file_status,
    move_file,
    rename_file,
)
from activities.instancelog import write_log
from activities.jsonquery import query_json
from activities.mail import send_email
from activities.mapping import map_published_data
from activities.randomtext import generate_random_text
from activities.scripts import run_script
from activities.ssh import run_ssh_command
from activities.syslog import send_syslog
from activities.textfiles import (
    append_line,
    delete_line,
    find_text,
    insert_line,
    read_line,
    search_and_replace_text,
)
from activities.web import invoke_web_service
from orch.sdk import ActivityType

LIBRARY: list[ActivityType] = [
    # programs
    run_script,
    run_ssh_command,
    # data
    query_database,
    invoke_web_service,
    query_json,
    map_published_data,
    format_date_time,
    generate_random_text,
    # files
    create_folder,
    delete_folder,
    copy_file,
    move_file,
    delete_file,
    rename_file,
    get_file_status,
    read_line,
    append_line,
    find_text,
    search_and_replace_text,
    insert_line,
    delete_line,
    # notification
    send_email,
    send_syslog,
    write_log,
]

__all__ = ["LIBRARY"]
